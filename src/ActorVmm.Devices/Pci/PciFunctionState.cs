using System.Collections.Immutable;
using ActorVmm.Devices.Pci.Msix;

namespace ActorVmm.Devices.Pci;

/// <summary>
/// A PCI function's guest-visible state: its 256 configuration bytes (BARs, command, interrupt line, capability
/// registers), its MSI-X table and pending bits, and whether the device holds INTx pending. A rebuilt function
/// checks the read-only bytes against its definition (<see cref="PciFunction"/>), then puts its BARs back.
/// </summary>
/// <param name="Config">The 256 configuration bytes.</param>
/// <param name="MsixTable">MSI-X table bytes (empty without MSI-X).</param>
/// <param name="MsixPending">MSI-X pending-bit array (empty without MSI-X).</param>
/// <param name="IntxPending">The device's INTx level (before the interrupt-disable bit).</param>
public sealed record PciFunctionState(ImmutableArray<byte> Config, ImmutableArray<byte> MsixTable, ImmutableArray<ulong> MsixPending, bool IntxPending) : DeviceState
{
    /// <inheritdoc />
    public override void Validate()
    {
        Require(!Config.IsDefault && Config.Length == PciHeader.ConfigSpaceSize, $"config space must be {PciHeader.ConfigSpaceSize} bytes");
        Require(!MsixTable.IsDefault && !MsixPending.IsDefault, "MSI-X table and pending bits must be present (empty without MSI-X)");
        Require(MsixTable.Length % MsixRegisters.EntrySize == 0, "MSI-X table must be whole entries");
        int vectors = MsixTable.Length / MsixRegisters.EntrySize;
        Require(vectors <= MsixRegisters.MaxVectors, $"MSI-X table has {vectors} vectors, above {MsixRegisters.MaxVectors}");
        int qwords = (vectors + MsixRegisters.PendingBitsPerQword - 1) / MsixRegisters.PendingBitsPerQword;
        Require(MsixPending.Length == qwords, $"MSI-X pending bits must be {qwords} qwords for {vectors} vectors");
        for (int v = 0; v < vectors; v++)
        {
            int control = (v * MsixRegisters.EntrySize) + MsixRegisters.EntryVectorControl;
            Require((MsixTable[control] & ~MsixRegisters.VectorMasked) == 0 && MsixTable[control + 1] == 0 && MsixTable[control + 2] == 0 && MsixTable[control + 3] == 0, $"MSI-X vector {v} has reserved vector-control bits set");
        }

        int spare = (qwords * MsixRegisters.PendingBitsPerQword) - vectors;
        Require(spare == 0 || (MsixPending[^1] >> (MsixRegisters.PendingBitsPerQword - spare)) == 0, "MSI-X pending bits are set past the last vector");
        bool statusBit = (Config[PciHeader.Status] & (int)PciStatus.InterruptStatus) != 0;
        Require(statusBit == IntxPending, "status interrupt bit disagrees with the INTx level");
    }
}
