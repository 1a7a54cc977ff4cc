using ActorVmm.Devices.Framebuffer;
using ActorVmm.Devices.I8042;
using ActorVmm.Devices.Legacy;
using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Pic;
using ActorVmm.Devices.Rtc;
using ActorVmm.Devices.Serial;
using ActorVmm.Devices.Virtio;
using ActorVmm.Devices.Virtio.Mmio;
using ActorVmm.Devices.Virtio.Pci;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Vcpu;
using Microsoft.Extensions.Logging;

namespace ActorVmm.Devices.Platforms;

/// <summary>
/// The default PC machine (guest-conventions.md, docs/devices.md): COM1..COM4 16550A UARTs with COM1 on the
/// console, the MC146818 RTC/CMOS, the i8042, the legacy port block (POST, port 0x92, boot-time probe) and, where
/// the backend has no in-kernel irqchip (the emulator), the 8259A pair and the 8254 PIT; and PCI bus 0: the host bridge
/// at 00:00.0 on ports 0xCF8–0xCFF and the map's ECAM window, then the options' PCI devices on stable slots with their
/// BARs assigned from the PCI windows and decoding on (as firmware leaves them; the guest may move them). PCI INTA–D
/// reach IOAPIC GSIs 16–19 where the backend has an in-kernel irqchip, else the 8259's IRQs 5, 9, 10 and 11 (the
/// emulator has no IOAPIC); MSI-X vectors become the VM's MSI routes. Virtio devices are PCI functions there too
/// (<see cref="X86PlatformOptions.VirtioTransport"/> pci, the default) or virtio-mmio windows (mmio). The exit port is added by the VM itself (the VM
/// definition's WithExitPort). With <see cref="X86PlatformOptions.Framebuffer"/>, the linear framebuffer ("vesa") on
/// bus 0 after the options' PCI devices, its BAR at power-on in the map's framebuffer window.
/// </summary>
public sealed class X86Platform(X86PlatformOptions options) : IPlatform
{
    /// <summary>Device names, as the supervisor and <c>SendToDevice</c> know them.</summary>
    public const string RtcName = TimerDeviceDefinitions.RtcName, I8042Name = "i8042", LegacyName = "legacy", PicName = TimerDeviceDefinitions.PicName, PitName = TimerDeviceDefinitions.PitName;

    /// <summary>
    /// The lines virtio-mmio transports get, the i-th transport the i-th line: the ISA lines from 5 up (as kvmtool hands
    /// them out) that no platform device uses (0 PIT, 1 keyboard, 2 cascade, 3/4 COM, 8 RTC, 12 mouse) and that PCI INTx
    /// does not take on the 8259 pair (<see cref="PciIntxRouting.X86PicIrqs"/>), so no virtio-mmio line is shared.
    /// </summary>
    public static IReadOnlyList<int> VirtioMmioIrqs { get; } = [.. new[] { 5, 6, 7, 9, 10, 11, 13, 14, 15 }.Except(PciIntxRouting.X86PicIrqs)];

    /// <summary>The default machine.</summary>
    public static X86Platform Default { get; } = new(X86PlatformOptions.Default);

    /// <summary>The COM port that carries the VM console.</summary>
    public static SerialPortSpec ConsolePort => SerialPortSpec.Com1;

    /// <summary>The IRQs PCI INTA–INTD (PIRQA–D) reach: IOAPIC GSIs 16–19 with an in-kernel irqchip, else the 8259's 5, 9, 10, 11.</summary>
    public static IReadOnlyList<int> PciIntxLines(bool hasIoApic) => hasIoApic ? PciIntxRouting.X86IoApicGsis : PciIntxRouting.X86PicIrqs;

    /// <inheritdoc />
    public string Name => "x86";

    /// <inheritdoc />
    public MemoryMap Map => MemoryMap.X86;

    /// <summary>How the VM's RAM splits around the 32-bit MMIO hole, as the CMOS reports it (from its layout's RAM slots).</summary>
    public static CmosMemorySize CmosMemory(MemoryLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        return CmosMemorySize.FromRamSlots(layout.RamSlots);
    }

    /// <summary>
    /// The framebuffer of one boot generation, for the PCI bus: its device RAM (allocated here, once, so a rebuilt device
    /// keeps the pixels) and the device, whose BAR power-on puts at the map's framebuffer window (where the boot
    /// protocol's <c>screen_info</c> points).
    /// </summary>
    /// <exception cref="ArgumentException">The mode does not fit the window.</exception>
    private static PciDeviceDefinition Framebuffer(IVirtualMachine vm, FramebufferMode mode)
    {
        var window = vm.Layout.Window(X86MemoryMap.FramebufferName);
        try
        {
            mode.Validate(window.Size);
        }
        catch (FormatException ex)
        {
            throw new ArgumentException(ex.Message, nameof(mode), ex);
        }

        var memory = vm.Memory.CreateDeviceRam(FramebufferDevice.DeviceName, mode.BarSize);
        return FramebufferDevice.PciDefinition(mode, memory, window.Base);
    }

    /// <inheritdoc />
    public IReadOnlyList<DeviceDefinition> CreateDevices(PlatformContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var vm = context.Vm;
        var legacyOptions = options.LegacyPorts ?? LegacyPortOptions.Default;
        var cmos = CmosMemory(vm.Layout);

        // The boot-time probe measures from VM creation, not from a device restart.
        long vmStart = context.Time.GetTimestamp();
        var legacyLogger = context.LoggerFactory.CreateLogger<LegacyPorts>();

        var devices = new List<DeviceDefinition>
        {
            options.SerialConsole
                ? SerialConsoleDevice.Definition(ConsolePort)
                : new(ConsolePort.Name, c => new SerialDevice(ConsolePort, c.GetInterruptLine(ConsolePort.Irq), NullGuestOutput.Instance, c.Restore<Uart16550State>())),
        };
        foreach (var spec in SerialPortSpec.PcComPorts.Where(s => s != ConsolePort))
        {
            var output = options.SerialOutputs is { } outputs && outputs.TryGetValue(spec.Name, out var factory) ? factory : null;
            devices.Add(new(spec.Name, c => new SerialDevice(spec, c.GetInterruptLine(spec.Irq), output?.Invoke() ?? NullGuestOutput.Instance, c.Restore<Uart16550State>())));
        }

        devices.Add(TimerDeviceDefinitions.Rtc(cmos));
        devices.Add(new(I8042Name, c => new I8042Device(c.GetInterruptLine(I8042Registers.KeyboardIrq), c.GetInterruptLine(I8042Registers.AuxIrq), c.Power, c.Restore<I8042State>())));
        devices.Add(new(LegacyName, c => new LegacyPortsDevice(legacyOptions, c.Power, c.Time, legacyLogger, vmStart, c.Restore<LegacyPortsState>())));

        var config = PciConfigWindows.For(vm.Layout.Map);
        var pci = new PciMachine(
            config,
            PciBarWindows.X86(vm.Layout),
            new PciIntxRouting(PciIntxLines(vm.HasInKernelIrqchip), (irq, owner) => vm.Interrupts.GetSource(irq, owner)),
            message => vm.Interrupts.CreateMsiRoute(message));
        devices.Add(pci.HostBridge());
        var pciLogger = context.LoggerFactory.CreateLogger<PciBus>();
        foreach (var device in options.PciDevices.Concat(VirtioPciDevices(options, context.LoggerFactory)))
        {
            devices.Add(pci.Add(device));
        }

        // After the options' devices, so adding --vesa moves none of them to another slot.
        if (options.Framebuffer is { } mode)
        {
            devices.Add(pci.Add(Framebuffer(vm, mode)));
        }

        pciLogger.LogInformation(
            "PCI bus 0 of VM {Vm}: host bridge {HostBridge} {Vendor:x4}:{Device:x4} on ports 0x{ConfigAddress:X}-0x{ConfigEnd:X} and ECAM 0x{EcamBase:X}, INTA-D on IRQs {IntxLines}",
            vm.Name,
            pci.Bus.Slot(PciBus.HostBridgeSlotName).Address(0),
            PciHostBridge.VendorId,
            PciHostBridge.DeviceId,
            PciHostBridgeDevice.ConfigAddressPort,
            PciHostBridgeDevice.ConfigAddressPort + PciHostBridgeDevice.PortCount - 1,
            config.EcamBase,
            string.Join(",", PciIntxLines(vm.HasInKernelIrqchip)));
        foreach (var planned in pci.Planned)
        {
            pciLogger.LogInformation("PCI device {Function} of VM {Vm}", planned, vm.Name);
        }

        if (!vm.HasInKernelIrqchip)
        {
            // Every incarnation plugs itself into the VM's controller slot (the backend takes one controller for its life).
            devices.Add(new(PicName, c =>
            {
                var pic = new PicDevice(state: c.Restore<PicState>());
                c.AttachInterruptController(pic);
                return pic;
            }));
            devices.Add(TimerDeviceDefinitions.Pit());
        }

        devices.AddRange(VirtioDevices(options, context.LoggerFactory));
        return devices;
    }

    /// <summary>
    /// The virtio devices of <paramref name="options"/> when their transport is virtio-mmio: windows one after another from
    /// the map's virtio-mmio window, each with the next of <see cref="VirtioMmioIrqs"/> (Linux finds them through
    /// <c>virtio_mmio.device=</c>, see <see cref="VirtioMmioKernelParameters"/>). None for the PCI transport.
    /// </summary>
    /// <exception cref="InvalidOperationException">More devices than transport slots.</exception>
    public static IReadOnlyList<DeviceDefinition> VirtioDevices(X86PlatformOptions options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        if (options.Virtio is not { Count: > 0 } specs || options.VirtioTransport != VirtioTransportKind.Mmio)
        {
            return [];
        }

        var allocator = new VirtioMmioAllocator(MemoryMap.X86, VirtioMmioIrqs);
        var logger = loggerFactory.CreateLogger<VirtioMmioDevice>();
        return [.. specs.Select(spec => VirtioMmioDevice.Definition(spec.Name, allocator.Allocate(), spec.CreateModel, logger))];
    }

    /// <summary>
    /// The virtio devices of <paramref name="options"/> when their transport is virtio-pci: one function each on bus 0
    /// (after <see cref="X86PlatformOptions.PciDevices"/>, lowest free slots), its BAR assigned like every PCI device's,
    /// INTA swizzled onto PIRQA–D as the MP table describes, MSI-X vectors on the VM's MSI routes. None for virtio-mmio.
    /// </summary>
    public static IReadOnlyList<PciDeviceDefinition> VirtioPciDevices(X86PlatformOptions options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        if (options.Virtio is not { Count: > 0 } specs || options.VirtioTransport != VirtioTransportKind.Pci)
        {
            return [];
        }

        var logger = loggerFactory.CreateLogger<VirtioPciDevice>();
        return [.. specs.Select(spec => VirtioPciDevice.Definition(spec, logger))];
    }

    /// <summary>The kernel command line that tells Linux where the first <paramref name="count"/> virtio-mmio transports are (<c>virtio_mmio.device=SIZE@BASE:IRQ</c> each).</summary>
    public static string VirtioMmioKernelParameters(int count)
    {
        var allocator = new VirtioMmioAllocator(MemoryMap.X86, VirtioMmioIrqs);
        return string.Join(' ', Enumerable.Range(0, count).Select(_ => allocator.Allocate().KernelParameter));
    }
}
