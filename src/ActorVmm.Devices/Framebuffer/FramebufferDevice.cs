using ActorVmm.Devices.Pci;
using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Devices.Framebuffer;

/// <summary>
/// A linear framebuffer as kvmtool's <c>hw/vesa.c</c> offers it: a PCI display function on bus 0 whose memory BAR is the
/// frame, backed by <see cref="DeviceRam"/> that the BAR's placement maps into guest space as RAM, so drawing costs no
/// exit on either backend. It has no registers and no trap region: the mode is fixed at creation (<c>--vesa WxH</c>) and
/// handed to the guest by the boot protocol (Linux's <c>screen_info</c>). At power-on the BAR is assigned the way
/// firmware would, at the map's framebuffer window (<see cref="PciDeviceDefinition.FixedBars"/>), memory decode on, so
/// <c>screen_info</c> and a guest without PCI enumeration find the frame there; a guest that enumerates bus 0 finds the
/// function by its IDs, and reprogramming the BAR or the decode bit moves or unmaps the memory with it. The host reads
/// the frame (<see cref="FramebufferProtocol.Capture"/>) without stopping the vCPUs.
/// </summary>
public sealed class FramebufferDevice : IDevice, ISlowPathDevice
{
    /// <summary>The device's name (kvmtool's).</summary>
    public const string DeviceName = "vesa";

    /// <summary>Red Hat / Qumranet, the vendor of kvmtool's and virtio's PCI functions (<c>PCI_VENDOR_ID_REDHAT_QUMRANET</c>).</summary>
    public const ushort VendorId = 0x1AF4;

    /// <summary>kvmtool's <c>PCI_DEVICE_ID_VESA</c>.</summary>
    public const ushort PciDeviceId = 0x2000;

    /// <summary>kvmtool's <c>PCI_SUBSYSTEM_ID_VESA</c>.</summary>
    public const ushort SubsystemId = 0x0004;

    /// <summary>The BAR that holds the frame.</summary>
    public const int FrameBar = 0;

    /// <summary>Display controller, VGA-compatible (class 03h, subclass 00h), as kvmtool reports it.</summary>
    public static PciClassCode DisplayClass { get; } = new(0x03, 0x00);

    private readonly DeviceRam _memory;
    private readonly PciDeviceContext _context;

    /// <summary>Creates the device at power-on (BAR at the context's firmware address), or rebuilt from the context's restored state.</summary>
    /// <param name="mode">The frame's geometry.</param>
    /// <param name="memory">The frame's memory, <see cref="FramebufferMode.BarSize"/> bytes, shared by every incarnation.</param>
    /// <param name="context">The incarnation's PCI context: its slot on bus 0, its power-on BAR, its restored state.</param>
    /// <exception cref="ArgumentException">The memory does not match the mode.</exception>
    /// <exception cref="DeviceStateException">The restored state is not this function's.</exception>
    public FramebufferDevice(FramebufferMode mode, DeviceRam memory, PciDeviceContext context)
    {
        ArgumentNullException.ThrowIfNull(mode);
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(context);
        if (memory.Size != mode.BarSize)
        {
            throw new ArgumentException($"{mode} needs 0x{mode.BarSize:X} bytes of device RAM; {memory} was given", nameof(memory));
        }

        Mode = mode;
        _memory = memory;
        _context = context;
        Placement = new DeviceRamBarPlacement(memory);
        Function = context.CreateFunction(context.Device.Restore<FramebufferState>()?.Function, _ => Placement);
    }

    /// <summary>The frame's geometry.</summary>
    public FramebufferMode Mode { get; }

    /// <summary>The PCI function (configuration space; the platform attaches it to a slot of its bus).</summary>
    public PciFunction Function { get; }

    /// <summary>The BAR's binding to the frame's memory (its refusal count, for diagnostics).</summary>
    public DeviceRamBarPlacement Placement { get; }

    /// <summary>Where the guest reaches the frame now, or null while the BAR does not decode.</summary>
    public ulong? FrameAddress => _memory.GuestAddress;

    /// <inheritdoc />
    public string Name => DeviceName;

    /// <summary>None: the frame is RAM, and the function has no registers outside its configuration space.</summary>
    public IReadOnlyList<DeviceRegion> Regions { get; } = [];

    /// <summary>What the function is for <paramref name="mode"/>: one prefetchable 32-bit memory BAR of the mode's BAR size.</summary>
    public static PciFunctionDefinition Definition(FramebufferMode mode)
    {
        ArgumentNullException.ThrowIfNull(mode);
        return new PciFunctionDefinition
        {
            VendorId = VendorId,
            DeviceId = PciDeviceId,
            ClassCode = DisplayClass,
            SubsystemVendorId = VendorId,
            SubsystemId = SubsystemId,
            Bars = [new PciBarDefinition(FrameBar, PciBarKind.Memory32, mode.BarSize, Prefetchable: true)],
        };
    }

    /// <summary>
    /// The device for a VM's PCI bus (<see cref="PciMachine.Add"/>): every incarnation draws into the same
    /// <paramref name="memory"/>, and power-on puts the BAR at <paramref name="firmwareBase"/>.
    /// </summary>
    /// <param name="mode">The frame's geometry.</param>
    /// <param name="memory">The frame's memory.</param>
    /// <param name="firmwareBase">Where power-on puts the BAR: the memory map's framebuffer window (aligned to the BAR size).</param>
    /// <exception cref="ArgumentException">The base is not aligned to the BAR or not below 4 GiB.</exception>
    public static PciDeviceDefinition PciDefinition(FramebufferMode mode, DeviceRam memory, ulong firmwareBase)
    {
        ArgumentNullException.ThrowIfNull(mode);
        ArgumentNullException.ThrowIfNull(memory);
        if (firmwareBase == 0 || firmwareBase % mode.BarSize != 0 || firmwareBase > uint.MaxValue - mode.BarSize + 1)
        {
            throw new ArgumentException($"a 0x{mode.BarSize:X}-byte 32-bit BAR cannot start at 0x{firmwareBase:X}", nameof(firmwareBase));
        }

        return new PciDeviceDefinition(DeviceName, Definition(mode), c => new FramebufferDevice(mode, memory, c))
        {
            FixedBars = new Dictionary<int, ulong> { [FrameBar] = firmwareBase },
        };
    }

    /// <summary>Never called: the device declares no trap region.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Always.</exception>
    public void HandleTrap(int region, TrapAccess access) =>
        throw new ArgumentOutOfRangeException(nameof(region), region, "the framebuffer has no trap regions");

    /// <summary>Back to power-on: the function reset, then the BAR assigned again as firmware would. The pixels stay (they are memory).</summary>
    public void Reset()
    {
        lock (Function.Sync)
        {
            Function.Reset();
            _context.ProgramFirmwareBars(Function);
        }
    }

    /// <inheritdoc />
    public DeviceState CaptureState() => new FramebufferState(Function.CaptureState());

    /// <summary>Answers <see cref="FramebufferProtocol.Capture"/> with a copy of the visible frame; nothing else is understood.</summary>
    public object? OnSlowPath(object message)
    {
        if (message is not FramebufferProtocol.Capture)
        {
            return DeviceSignals.NotUnderstood.Instance;
        }

        return CaptureFrame();
    }

    /// <summary>Copies the visible frame out of the device RAM while the guest keeps running.</summary>
    public FramebufferProtocol.Frame CaptureFrame()
    {
        byte[] pixels = new byte[Mode.FrameBytes];
        _memory.Read(0, pixels);
        return new FramebufferProtocol.Frame(Mode.Width, Mode.Height, Mode.Stride, pixels);
    }
}
