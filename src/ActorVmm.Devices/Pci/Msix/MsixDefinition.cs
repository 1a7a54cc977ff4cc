using System.Buffers.Binary;

namespace ActorVmm.Devices.Pci.Msix;

/// <summary>
/// A function's MSI-X: how many vectors and where the table and pending-bit array live (offsets inside one of the
/// function's memory BARs; both qword aligned, not overlapping).
/// </summary>
/// <param name="VectorCount">Vectors, 1–2048.</param>
/// <param name="Bar">Index of the memory BAR holding the table.</param>
/// <param name="TableOffset">Offset of the table in that BAR.</param>
/// <param name="PbaBar">Index of the memory BAR holding the pending-bit array.</param>
/// <param name="PbaOffset">Offset of the pending-bit array in that BAR.</param>
public sealed record MsixDefinition(int VectorCount, int Bar, uint TableOffset, int PbaBar, uint PbaOffset)
{
    /// <summary>Table and PBA in one BAR: the table at <paramref name="tableOffset"/>, the PBA right after it.</summary>
    public static MsixDefinition InBar(int bar, int vectorCount, uint tableOffset = 0) =>
        new(vectorCount, bar, tableOffset, bar, tableOffset + (uint)(vectorCount * MsixRegisters.EntrySize));

    /// <summary>Bytes of the table.</summary>
    public ulong TableSize => (ulong)VectorCount * MsixRegisters.EntrySize;

    /// <summary>Qwords of the pending-bit array.</summary>
    public int PbaQwords => (VectorCount + MsixRegisters.PendingBitsPerQword - 1) / MsixRegisters.PendingBitsPerQword;

    /// <summary>Bytes of the pending-bit array.</summary>
    public ulong PbaSize => (ulong)PbaQwords * sizeof(ulong);

    /// <summary>
    /// The capability record: message control with the table size (function mask and enable writable), then the
    /// read-only table and PBA offset/BIR registers.
    /// </summary>
    public PciCapability ToCapability()
    {
        var body = new byte[MsixRegisters.CapabilityLength - PciCapability.HeaderSize];
        var mask = new byte[body.Length];
        const int control = MsixRegisters.MessageControl - PciCapability.HeaderSize;
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(control), (ushort)(VectorCount - 1));
        BinaryPrimitives.WriteUInt16LittleEndian(mask.AsSpan(control), MsixRegisters.FunctionMask | MsixRegisters.Enable);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(MsixRegisters.TableOffsetBir - PciCapability.HeaderSize), TableOffset | (uint)Bar);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(MsixRegisters.PbaOffsetBir - PciCapability.HeaderSize), PbaOffset | (uint)PbaBar);
        return new PciCapability(PciCapabilityId.MsiX, [.. body], [.. mask]);
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless both structures fit their memory BARs without overlapping.</summary>
    public void Validate(Func<int, PciBarDefinition?> bar)
    {
        ArgumentNullException.ThrowIfNull(bar);
        if (VectorCount is < 1 or > MsixRegisters.MaxVectors)
        {
            throw new ArgumentException($"MSI-X vector count {VectorCount} is outside 1..{MsixRegisters.MaxVectors}");
        }

        CheckFits("table", bar(Bar), Bar, TableOffset, TableSize);
        CheckFits("PBA", bar(PbaBar), PbaBar, PbaOffset, PbaSize);
        bool overlap = Bar == PbaBar && TableOffset < PbaOffset + PbaSize && PbaOffset < TableOffset + TableSize;
        if (overlap)
        {
            throw new ArgumentException("the MSI-X table and PBA overlap");
        }
    }

    /// <summary>True when BAR offset <paramref name="offset"/> of BAR <paramref name="bar"/> is inside the table.</summary>
    public bool InTable(int bar, ulong offset) => bar == Bar && offset >= TableOffset && offset - TableOffset < TableSize;

    /// <summary>True when BAR offset <paramref name="offset"/> of BAR <paramref name="bar"/> is inside the PBA.</summary>
    public bool InPba(int bar, ulong offset) => bar == PbaBar && offset >= PbaOffset && offset - PbaOffset < PbaSize;

    private static void CheckFits(string what, PciBarDefinition? bar, int index, uint offset, ulong size)
    {
        if (bar is null || bar.Kind == PciBarKind.Io)
        {
            throw new ArgumentException($"the MSI-X {what} needs memory BAR {index}, which the function does not have");
        }

        if ((offset & MsixRegisters.BirMask) != 0 || offset + size > bar.Size)
        {
            throw new ArgumentException($"the MSI-X {what} (0x{offset:X}, 0x{size:X} bytes) is not qword aligned inside BAR {index} (0x{bar.Size:X} bytes)");
        }
    }
}
