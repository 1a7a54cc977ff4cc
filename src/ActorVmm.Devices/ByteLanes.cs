using ActorVmm.Machine.Traps;

namespace ActorVmm.Devices;

/// <summary>
/// Splits a guest access into single-byte register accesses, as an ISA bus does for 8-bit chips
/// (a 16-bit IN from 0x20 reads 0x20 then 0x21). Bytes that fall past the region read as an
/// empty bus (0xFF) and writes to them are dropped, so a wide access never throws.
/// </summary>
public static class ByteLanes
{
    /// <summary>Value an empty ISA bus returns for a byte no register answers.</summary>
    public const byte EmptyBus = 0xFF;

    /// <summary>Reads one byte register at a region offset.</summary>
    public delegate byte ByteReader(int offset);

    /// <summary>Writes one byte register at a region offset.</summary>
    public delegate void ByteWriter(int offset, byte value);

    /// <summary>Performs <paramref name="access"/> byte by byte against a register file of <paramref name="length"/> bytes.</summary>
    public static void Dispatch(TrapAccess access, int length, ByteReader read, ByteWriter write)
    {
        ArgumentNullException.ThrowIfNull(read);
        ArgumentNullException.ThrowIfNull(write);
        Span<byte> data = access.Data;
        for (int i = 0; i < data.Length; i++)
        {
            // Guest-controlled offset: bounds-checked before it reaches the register file.
            ulong offset = access.Offset + (ulong)i;
            bool inside = offset < (ulong)length;
            if (access.IsWrite)
            {
                if (inside)
                {
                    write((int)offset, data[i]);
                }
            }
            else
            {
                data[i] = inside ? read((int)offset) : EmptyBus;
            }
        }
    }
}
