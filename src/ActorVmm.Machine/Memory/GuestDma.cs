using System.Buffers.Binary;

namespace ActorVmm.Machine.Memory;

/// <summary>
/// How devices reach guest RAM (DMA: descriptor rings, buffers, DMA engines). Every request is checked against the
/// VM's RAM slots before anything is touched:
/// <list type="bullet">
/// <item>a range must be RAM throughout; it may cross from one slot into the next only where the slots follow each other
/// in guest-physical space (the x86 MMIO hole is never crossed); address + length may not wrap;</item>
/// <item>it never reaches MMIO: a range outside RAM is a <see cref="GuestMemoryException"/> for that request, never a
/// trap dispatch, so DMA cannot re-enter a device (lessons-from-peers.md);</item>
/// <item>once the VM's memory is closed every request throws <see cref="GuestMemoryClosedException"/>; the memory is
/// unmapped only after the requests in flight have finished, so a late request is an exception, never a host fault.</item>
/// </list>
/// Multi-byte values are little-endian (x86 and arm64 guests, virtio). Writes tell the memory's write observer, so the
/// emulator drops decoded code that a device overwrote. Safe from any thread.
/// </summary>
public sealed class GuestDma
{
    private readonly GuestMemory _memory;

    /// <summary>Creates the accessor over a VM's RAM.</summary>
    public GuestDma(GuestMemory memory)
    {
        _memory = memory ?? throw new ArgumentNullException(nameof(memory));
    }

    /// <summary>True when the whole range is RAM by the rules above (false once the memory is closed). A check only: a later request may still fail.</summary>
    public bool IsRam(ulong address, ulong length) => !_memory.IsClosed && _memory.IsRam(address, length);

    /// <summary>Copies guest RAM at <paramref name="address"/> into <paramref name="destination"/>.</summary>
    /// <exception cref="GuestMemoryException">Some of the range is not RAM; nothing was read.</exception>
    /// <exception cref="GuestMemoryClosedException">The VM's memory is closed.</exception>
    public void Read(ulong address, Span<byte> destination) => _memory.Read(address, destination);

    /// <summary>Copies <paramref name="source"/> into guest RAM at <paramref name="address"/>.</summary>
    /// <exception cref="GuestMemoryException">Some of the range is not RAM; nothing was written.</exception>
    /// <exception cref="GuestMemoryClosedException">The VM's memory is closed.</exception>
    public void Write(ulong address, ReadOnlySpan<byte> source) => _memory.Write(address, source);

    /// <summary>Reads one byte.</summary>
    public byte ReadByte(ulong address)
    {
        Span<byte> bytes = stackalloc byte[sizeof(byte)];
        Read(address, bytes);
        return bytes[0];
    }

    /// <summary>Reads a little-endian 16-bit value.</summary>
    public ushort ReadUInt16(ulong address)
    {
        Span<byte> bytes = stackalloc byte[sizeof(ushort)];
        Read(address, bytes);
        return BinaryPrimitives.ReadUInt16LittleEndian(bytes);
    }

    /// <summary>Reads a little-endian 32-bit value.</summary>
    public uint ReadUInt32(ulong address)
    {
        Span<byte> bytes = stackalloc byte[sizeof(uint)];
        Read(address, bytes);
        return BinaryPrimitives.ReadUInt32LittleEndian(bytes);
    }

    /// <summary>Reads a little-endian 64-bit value.</summary>
    public ulong ReadUInt64(ulong address)
    {
        Span<byte> bytes = stackalloc byte[sizeof(ulong)];
        Read(address, bytes);
        return BinaryPrimitives.ReadUInt64LittleEndian(bytes);
    }

    /// <summary>Writes one byte.</summary>
    public void WriteByte(ulong address, byte value) => Write(address, [value]);

    /// <summary>Writes a little-endian 16-bit value.</summary>
    public void WriteUInt16(ulong address, ushort value)
    {
        Span<byte> bytes = stackalloc byte[sizeof(ushort)];
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, value);
        Write(address, bytes);
    }

    /// <summary>Writes a little-endian 32-bit value.</summary>
    public void WriteUInt32(ulong address, uint value)
    {
        Span<byte> bytes = stackalloc byte[sizeof(uint)];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        Write(address, bytes);
    }

    /// <summary>Writes a little-endian 64-bit value.</summary>
    public void WriteUInt64(ulong address, ulong value)
    {
        Span<byte> bytes = stackalloc byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        Write(address, bytes);
    }

    /// <summary>
    /// Scoped read without a copy: <paramref name="reader"/> sees the guest bytes in place, and the memory cannot be
    /// unmapped until it returns. The range must be contiguous in the host mapping too (always so within one slot).
    /// The guest may change the bytes meanwhile: read each field once.
    /// </summary>
    /// <exception cref="GuestMemoryException">Some of the range is not RAM; the reader did not run.</exception>
    /// <exception cref="GuestMemoryClosedException">The VM's memory is closed; the reader did not run.</exception>
    public TResult Inspect<TResult>(ulong address, int length, GuestSpanReader<TResult> reader) => _memory.Inspect(address, length, reader);

    /// <summary>
    /// Scoped write without a copy: <paramref name="writer"/> fills the guest bytes in place with the memory pinned, then
    /// the write observer is told about the whole range. The range must be contiguous in the host mapping too.
    /// </summary>
    /// <exception cref="GuestMemoryException">Some of the range is not RAM; the writer did not run.</exception>
    /// <exception cref="GuestMemoryClosedException">The VM's memory is closed; the writer did not run.</exception>
    public void Modify(ulong address, int length, GuestSpanWriter writer) => _memory.Modify(address, length, writer);
}
