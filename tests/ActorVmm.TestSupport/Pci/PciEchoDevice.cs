using System.Collections.Immutable;
using ActorVmm.Devices;
using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Pci.Msix;
using ActorVmm.Machine.Traps;

namespace ActorVmm.TestSupport.Pci;

/// <summary>
/// The PCI test device the PCI guests and tests plug in: one I/O BAR, one 32-bit memory BAR (which also holds a
/// two-vector MSI-X table and its PBA) and one 64-bit memory BAR, INTA. Every BAR answers the same four dword
/// registers at its start: an echo register that reads back what was last written to it (one per BAR), a read-only
/// identity that names the BAR, an INTx level register and an MSI-X trigger. Everything else in a BAR reads 0.
/// </summary>
public sealed class PciEchoDevice : PciDevice
{
    /// <summary>Device name (and PCI slot name).</summary>
    public const string DeviceName = "pci-echo";

    /// <summary>Vendor ID: 0x1234, not assigned to any vendor by PCI-SIG (QEMU uses it for its own test devices).</summary>
    public const ushort VendorId = 0x1234;

    /// <summary>Device ID: "EC40" (echo).</summary>
    public const ushort DeviceId = 0xEC40;

    /// <summary>The device's slot on bus 0.</summary>
    public const int Slot = 3;

    /// <summary>The I/O BAR's register index.</summary>
    public const int IoBar = 0;

    /// <summary>The I/O BAR's size in ports.</summary>
    public const ulong IoBarSize = 0x20;

    /// <summary>The 32-bit memory BAR's register index.</summary>
    public const int Memory32Bar = 1;

    /// <summary>The 32-bit memory BAR's size.</summary>
    public const ulong Memory32BarSize = 0x1000;

    /// <summary>The 64-bit memory BAR's register index (it takes registers 2 and 3).</summary>
    public const int Memory64Bar = 2;

    /// <summary>The 64-bit memory BAR's size.</summary>
    public const ulong Memory64BarSize = 0x4000;

    /// <summary>MSI-X vectors.</summary>
    public const int MsixVectors = 2;

    /// <summary>Offset of the MSI-X table in <see cref="Memory32Bar"/> (the PBA follows it).</summary>
    public const uint MsixTableOffset = 0x800;

    /// <summary>Register: reads back the last value written (per BAR).</summary>
    public const int EchoRegister = 0x0;

    /// <summary>Register (read-only): <see cref="IdentityBase"/> | the BAR's register index.</summary>
    public const int IdentityRegister = 0x4;

    /// <summary>Register: bit 0 is the device's INTx level (written and read back).</summary>
    public const int InterruptRegister = 0x8;

    /// <summary>Register (write-only): triggers the MSI-X vector written.</summary>
    public const int MsixTriggerRegister = 0xC;

    /// <summary>Bytes of the register block at the start of every BAR.</summary>
    public const int RegisterBlockSize = 0x10;

    /// <summary>The identity register's fixed upper bits.</summary>
    public const uint IdentityBase = 0xEC40_0000;

    /// <summary>The BAR register indices, in region order.</summary>
    public static IReadOnlyList<int> BarIndices { get; } = [IoBar, Memory32Bar, Memory64Bar];

    /// <summary>Unclassified device (base class 0xFF).</summary>
    public static PciFunctionDefinition FunctionDefinition { get; } = new()
    {
        VendorId = VendorId,
        DeviceId = DeviceId,
        ClassCode = PciClassCode.Unclassified,
        InterruptPin = PciInterruptPin.IntA,
        Bars =
        [
            new PciBarDefinition(IoBar, PciBarKind.Io, IoBarSize),
            new PciBarDefinition(Memory32Bar, PciBarKind.Memory32, Memory32BarSize),
            new PciBarDefinition(Memory64Bar, PciBarKind.Memory64, Memory64BarSize, Prefetchable: true),
        ],
        Msix = MsixDefinition.InBar(Memory32Bar, MsixVectors, MsixTableOffset),
    };

    private readonly uint[] _echo = new uint[BarIndices.Count];
    private bool _intx;

    /// <summary>Builds an incarnation at power-on or rebuilt from <paramref name="restored"/>.</summary>
    public PciEchoDevice(PciDeviceContext context, PciEchoState? restored = null)
        : base(context, restored?.Function)
    {
        if (restored is not null)
        {
            restored.Validate();
            restored.Echo.CopyTo(_echo);
            _intx = restored.Function.IntxPending;
        }
    }

    /// <summary>The device as a platform takes it, in slot <paramref name="slot"/>.</summary>
    public static PciDeviceDefinition Definition(int? slot = Slot) =>
        new(DeviceName, FunctionDefinition, c => new PciEchoDevice(c, c.Device.Restore<PciEchoState>())) { Slot = slot };

    /// <inheritdoc />
    public override DeviceState CaptureState()
    {
        lock (Function.Sync)
        {
            return new PciEchoState(Function.CaptureState(), [.. _echo]);
        }
    }

    /// <inheritdoc />
    protected override void HandleBar(int bar, TrapAccess access)
    {
        int region = EchoSlot(bar);
        ulong offset = access.Offset;
        int size = access.Length;
        if (offset >= RegisterBlockSize || offset + (ulong)size > RegisterBlockSize || offset % (ulong)size != 0)
        {
            // Outside the registers or not naturally aligned: nothing decodes there.
            if (!access.IsWrite)
            {
                access.Data.Clear();
            }

            return;
        }

        int register = (int)offset & ~3;
        int shift = 8 * ((int)offset & 3);
        uint mask = size >= 4 ? uint.MaxValue : ((1u << (8 * size)) - 1) << shift;
        if (!access.IsWrite)
        {
            uint value = register switch
            {
                EchoRegister => _echo[region],
                IdentityRegister => IdentityBase | (uint)bar,
                InterruptRegister => _intx ? 1u : 0u,
                _ => 0,
            };
            access.SetValue((value & mask) >> shift);
            return;
        }

        uint written = (uint)access.Value << shift;
        switch (register)
        {
            case EchoRegister:
                _echo[region] = (_echo[region] & ~mask) | (written & mask);
                break;
            case InterruptRegister when shift == 0:
                _intx = (written & 1) != 0;
                Function.SetIntxLevel(_intx);
                break;
            case MsixTriggerRegister when shift == 0:
                Function.TriggerMsix((int)(written & mask));
                break;
        }
    }

    // The echo register of each BAR, in region order.
    private static int EchoSlot(int bar) => bar switch
    {
        IoBar => 0,
        Memory32Bar => 1,
        _ => 2,
    };

    /// <inheritdoc />
    protected override void ResetRegisters()
    {
        Array.Clear(_echo);
        _intx = false;
    }
}

/// <summary>The echo device's guest-visible state: its function and the echo register of each BAR.</summary>
/// <param name="Function">Configuration space, MSI-X table and INTx level.</param>
/// <param name="Echo">The echo register of each BAR, in region order.</param>
public sealed record PciEchoState(PciFunctionState Function, ImmutableArray<uint> Echo) : DeviceState
{
    /// <inheritdoc />
    public override void Validate()
    {
        Require(Function is not null, "the function state is missing");
        Function!.Validate();
        Require(!Echo.IsDefault && Echo.Length == PciEchoDevice.BarIndices.Count, $"one echo register per BAR ({PciEchoDevice.BarIndices.Count})");
    }
}
