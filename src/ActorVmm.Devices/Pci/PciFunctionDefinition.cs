using ActorVmm.Devices.Pci.Msix;

namespace ActorVmm.Devices.Pci;

/// <summary>
/// What a PCI function is: its identity, BARs, interrupt pin and capabilities. The type-0 header, the BAR registers
/// and the capabilities list of <see cref="PciFunction"/> are built from it; MSI-X, when given, is appended to the
/// capabilities list.
/// </summary>
public sealed record PciFunctionDefinition
{
    /// <summary>Vendor ID (not 0xFFFF, which means "absent").</summary>
    public required ushort VendorId { get; init; }

    /// <summary>Device ID.</summary>
    public required ushort DeviceId { get; init; }

    /// <summary>Class code.</summary>
    public required PciClassCode ClassCode { get; init; }

    /// <summary>Revision ID.</summary>
    public byte RevisionId { get; init; }

    /// <summary>Subsystem vendor ID.</summary>
    public ushort SubsystemVendorId { get; init; }

    /// <summary>Subsystem ID.</summary>
    public ushort SubsystemId { get; init; }

    /// <summary>The INTx pin the function uses, or none.</summary>
    public PciInterruptPin InterruptPin { get; init; }

    /// <summary>The BARs, any order.</summary>
    public IReadOnlyList<PciBarDefinition> Bars { get; init; } = [];

    /// <summary>Capabilities, in list order (MSI-X excluded: see <see cref="Msix"/>).</summary>
    public IReadOnlyList<PciCapability> Capabilities { get; init; } = [];

    /// <summary>MSI-X, or null.</summary>
    public MsixDefinition? Msix { get; init; }

    /// <summary>The BAR with register index <paramref name="index"/> (the low register of a 64-bit BAR), or null.</summary>
    public PciBarDefinition? Bar(int index) => Bars.FirstOrDefault(b => b.Index == index);

    /// <summary>The capabilities list as laid out: <see cref="Capabilities"/> then MSI-X.</summary>
    public IReadOnlyList<PciCapability> AllCapabilities() => Msix is null ? Capabilities : [.. Capabilities, Msix.ToCapability()];

    /// <summary>Throws <see cref="ArgumentException"/> when the function cannot be built.</summary>
    public void Validate()
    {
        if (VendorId == PciHeader.InvalidVendorId)
        {
            throw new ArgumentException($"vendor ID 0x{VendorId:X4} means 'no function'");
        }

        if (InterruptPin > PciInterruptPin.IntD)
        {
            throw new ArgumentException($"interrupt pin {(int)InterruptPin} is not INTA..INTD");
        }

        var used = new bool[PciHeader.BarCount];
        foreach (var bar in Bars)
        {
            bar.Validate();
            for (int r = bar.Index; r < bar.Index + bar.RegisterCount; r++)
            {
                if (used[r])
                {
                    throw new ArgumentException($"BAR register {r} is used twice");
                }

                used[r] = true;
            }
        }

        Msix?.Validate(Bar);
        int length = 0;
        foreach (var capability in AllCapabilities())
        {
            capability.Validate();
            length += Align(capability.Length);
        }

        if (PciHeader.StandardHeaderSize + length > PciHeader.ConfigSpaceSize)
        {
            throw new ArgumentException($"the capabilities take {length} bytes; only {PciHeader.ConfigSpaceSize - PciHeader.StandardHeaderSize} fit after the header");
        }
    }

    /// <summary>Rounds a capability length up to the dword boundary the next one starts at.</summary>
    internal static int Align(int length) => (length + 3) & ~3;
}
