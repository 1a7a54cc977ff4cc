using System.Buffers.Binary;

namespace ActorVmm.Machine.Traps;

/// <summary>
/// One guest access to a registered region: the same shape for port I/O and MMIO, so a device
/// can move between buses without changing its handler.
/// </summary>
public readonly ref struct TrapAccess
{
    /// <summary>Creates an access description.</summary>
    public TrapAccess(int vcpuId, TrapBus bus, ulong address, ulong offset, TrapDirection direction, Span<byte> data)
    {
        VcpuId = vcpuId;
        Bus = bus;
        Address = address;
        Offset = offset;
        Direction = direction;
        Data = data;
    }

    /// <summary>The vCPU that made the access.</summary>
    public int VcpuId { get; }

    /// <summary>The bus the access arrived on.</summary>
    public TrapBus Bus { get; }

    /// <summary>Absolute port number or guest-physical address.</summary>
    public ulong Address { get; }

    /// <summary>Offset of <see cref="Address"/> from the region base.</summary>
    public ulong Offset { get; }

    /// <summary>Read or write.</summary>
    public TrapDirection Direction { get; }

    /// <summary>The data: what the guest wrote, or the buffer to fill for a read. Its length is the access size.</summary>
    public Span<byte> Data { get; }

    /// <summary>Access size in bytes (1, 2, 4 or 8).</summary>
    public int Length => Data.Length;

    /// <summary>True for guest writes.</summary>
    public bool IsWrite => Direction == TrapDirection.Write;

    /// <summary>The written value, zero-extended, little-endian as x86 puts it on the bus.</summary>
    public ulong Value => ReadLittleEndian(Data);

    /// <summary>Sets the value returned to a guest read (truncated to the access size, little-endian).</summary>
    public void SetValue(ulong value) => WriteLittleEndian(Data, value);

    /// <summary>Reads up to 8 bytes as a little-endian value.</summary>
    public static ulong ReadLittleEndian(ReadOnlySpan<byte> data)
    {
        switch (data.Length)
        {
            case 1: return data[0];
            case 2: return BinaryPrimitives.ReadUInt16LittleEndian(data);
            case 4: return BinaryPrimitives.ReadUInt32LittleEndian(data);
            case 8: return BinaryPrimitives.ReadUInt64LittleEndian(data);
            default:
                ulong v = 0;
                for (int i = Math.Min(data.Length, 8) - 1; i >= 0; i--)
                {
                    v = (v << 8) | data[i];
                }

                return v;
        }
    }

    /// <summary>Writes the low bytes of a value little-endian into the span.</summary>
    public static void WriteLittleEndian(Span<byte> data, ulong value)
    {
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = i < 8 ? (byte)(value >> (8 * i)) : (byte)0;
        }
    }
}

/// <summary>The one handler signature for both buses.</summary>
/// <param name="access">The access; fill <see cref="TrapAccess.Data"/> on reads.</param>
public delegate void TrapHandler(TrapAccess access);
