using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Pci.Msix;

namespace ActorVmm.Devices.Tests.Pci;

/// <summary>
/// The dummy function the PCI tests plug in: an I/O BAR, a 32-bit memory BAR holding the MSI-X table and PBA, a
/// 64-bit prefetchable memory BAR, INTA and four MSI-X vectors, behind a vendor-specific capability.
/// </summary>
internal static class TestPciDevice
{
    public const ushort VendorId = 0x1234;
    public const ushort DeviceId = 0x5678;
    public const byte RevisionId = 0x02;
    public const ushort SubsystemVendorId = 0x1AF4;
    public const ushort SubsystemId = 0x1100;
    public const int IoBar = 0;
    public const ulong IoBarSize = 0x20;
    public const int Memory32Bar = 1;
    public const ulong Memory32BarSize = 0x1000;
    public const int Memory64Bar = 2;
    public const ulong Memory64BarSize = 0x4000;
    public const int MsixVectors = 4;
    public const uint MsixTableOffset = 0x0;
    public const int VendorCapabilityLength = 4;
    public const byte NetworkBaseClass = 0x02;
    public const byte EthernetSubClass = 0x00;

    /// <summary>A vendor-specific capability with one writable byte (body offset 1) and one read-only byte.</summary>
    public static PciCapability VendorCapability { get; } = new(PciCapabilityId.VendorSpecific, [VendorCapabilityLength, 0x00], [0x00, 0xFF]);

    /// <summary>Network controller (base class 0x02), Ethernet (sub-class 0x00).</summary>
    public static PciClassCode ClassCode { get; } = new(NetworkBaseClass, EthernetSubClass);

    public static PciFunctionDefinition Definition { get; } = new()
    {
        VendorId = VendorId,
        DeviceId = DeviceId,
        ClassCode = ClassCode,
        RevisionId = RevisionId,
        SubsystemVendorId = SubsystemVendorId,
        SubsystemId = SubsystemId,
        InterruptPin = PciInterruptPin.IntA,
        Bars =
        [
            new PciBarDefinition(IoBar, PciBarKind.Io, IoBarSize),
            new PciBarDefinition(Memory32Bar, PciBarKind.Memory32, Memory32BarSize),
            new PciBarDefinition(Memory64Bar, PciBarKind.Memory64, Memory64BarSize, Prefetchable: true),
        ],
        Capabilities = [VendorCapability],
        Msix = MsixDefinition.InBar(Memory32Bar, MsixVectors, MsixTableOffset),
    };
}

/// <summary>A bus with IOAPIC-style INTx routing, the test function in a named slot, and recording fakes on every seam.</summary>
internal sealed class PciTestRig
{
    public const string SlotName = "test";
    public const int SlotDevice = 3;

    public PciTestRig(PciFunctionDefinition? definition = null, PciFunctionState? restored = null)
    {
        Definition = definition ?? TestPciDevice.Definition;
        Bus = new PciBus(new PciIntxRouting(PciIntxRouting.X86IoApicGsis, Lines.Connect));
        Slot = Bus.AddSlot(SlotName, SlotDevice);
        Function = Build(restored);
        Bridge = new PciHostBridgeDevice(Bus, new PciConfigWindows(true, EcamBase, EcamSize));
    }

    public static ulong EcamBase => ActorVmm.Machine.Layout.X86MemoryMap.PciConfigBase;

    public static ulong EcamSize => ActorVmm.Machine.Layout.X86MemoryMap.PciConfigSize;

    public PciFunctionDefinition Definition { get; }

    public RecordingIntxLines Lines { get; } = new();

    public PciBus Bus { get; }

    public PciSlot Slot { get; }

    public PciHostBridgeDevice Bridge { get; }

    public PciFunction Function { get; private set; }

    public PciAddress Address => Slot.Address(0);

    public Dictionary<int, RecordingBarPlacement> Placements { get; } = [];

    public RecordingMsiVector[] Vectors { get; } = [.. Enumerable.Range(0, TestPciDevice.MsixVectors).Select(_ => new RecordingMsiVector())];

    /// <summary>The INTx source of the current function (the same object across rebuilds).</summary>
    public RecordingIntxSource Intx => Lines.Sources.Single();

    /// <summary>A new incarnation (as after a device restart), attached to the slot.</summary>
    public PciFunction Build(PciFunctionState? restored = null)
    {
        Placements.Clear();
        var wiring = Slot.Wiring(0, Definition, index => Placements[index] = new RecordingBarPlacement(), v => Vectors[v]);
        Function = new PciFunction(Definition, wiring, restored);
        Slot.Attach(0, Function);
        return Function;
    }
}
