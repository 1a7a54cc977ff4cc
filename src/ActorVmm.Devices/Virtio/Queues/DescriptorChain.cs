using ActorVmm.Machine.Memory;

namespace ActorVmm.Devices.Virtio.Queues;

/// <summary>
/// A descriptor chain the driver made available, as checked buffers: the device-readable ones first, then the
/// device-writable ones (§2.7.4). Devices see the two parts as byte streams and never assume how the driver split
/// them into descriptors. Every copy goes through <see cref="GuestDma"/> and is clamped to its part, so a device
/// cannot write past the writable part whatever it asks for.
/// </summary>
public sealed class DescriptorChain
{
    private readonly GuestBuffer[] _buffers;
    private readonly int _firstWritable;

    internal DescriptorChain(ushort head, GuestBuffer[] buffers, int firstWritable, uint readableLength, uint writableLength)
    {
        Head = head;
        _buffers = buffers;
        _firstWritable = firstWritable;
        ReadableLength = readableLength;
        WritableLength = writableLength;
    }

    /// <summary>The descriptor index that heads the chain: the id of its used ring entry.</summary>
    public ushort Head { get; }

    /// <summary>Total bytes of the device-readable part.</summary>
    public uint ReadableLength { get; }

    /// <summary>Total bytes of the device-writable part: the most a used length can report.</summary>
    public uint WritableLength { get; }

    /// <summary>The device-readable buffers, in chain order.</summary>
    public ReadOnlySpan<GuestBuffer> Readable => _buffers.AsSpan(0, _firstWritable);

    /// <summary>The device-writable buffers, in chain order.</summary>
    public ReadOnlySpan<GuestBuffer> Writable => _buffers.AsSpan(_firstWritable);

    /// <summary>
    /// Copies readable bytes from <paramref name="offset"/> of the readable part into <paramref name="destination"/>;
    /// returns how many (fewer when the part ends first).
    /// </summary>
    /// <exception cref="GuestMemoryException">A buffer stopped being RAM (never for RAM that stays mapped).</exception>
    public int Read(GuestDma dma, ulong offset, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(dma);
        int done = 0;
        var cursor = new PartCursor(Readable, offset);
        while (done < destination.Length && cursor.Next(destination.Length - done, out ulong address, out int chunk))
        {
            dma.Read(address, destination.Slice(done, chunk));
            done += chunk;
        }

        return done;
    }

    /// <summary>
    /// Copies <paramref name="source"/> into the writable part at <paramref name="offset"/>; returns how many bytes were
    /// written (fewer when the part ends first). Nothing is ever written outside the writable part.
    /// </summary>
    /// <exception cref="GuestMemoryException">A buffer stopped being RAM (never for RAM that stays mapped).</exception>
    public int Write(GuestDma dma, ulong offset, ReadOnlySpan<byte> source)
    {
        ArgumentNullException.ThrowIfNull(dma);
        int done = 0;
        var cursor = new PartCursor(Writable, offset);
        while (done < source.Length && cursor.Next(source.Length - done, out ulong address, out int chunk))
        {
            dma.Write(address, source.Slice(done, chunk));
            done += chunk;
        }

        return done;
    }

    /// <inheritdoc />
    public override string ToString() => $"chain head {Head}: {_firstWritable} readable ({ReadableLength} bytes), {_buffers.Length - _firstWritable} writable ({WritableLength} bytes)";

    /// <summary>Walks a part of the chain from a byte offset, one guest range per step.</summary>
    private ref struct PartCursor(ReadOnlySpan<GuestBuffer> part, ulong offset)
    {
        private readonly ReadOnlySpan<GuestBuffer> _part = part;
        private ulong _skip = offset;
        private int _index;

        /// <summary>The next range of at most <paramref name="wanted"/> bytes; false when the part has ended.</summary>
        public bool Next(int wanted, out ulong address, out int length)
        {
            while (_index < _part.Length)
            {
                var buffer = _part[_index++];
                if (_skip >= buffer.Length)
                {
                    _skip -= buffer.Length;
                    continue;
                }

                address = buffer.Address + _skip;
                length = (int)Math.Min((ulong)wanted, buffer.Length - _skip);
                if ((ulong)length < buffer.Length - _skip)
                {
                    // Not all of this buffer was wanted: the next call resumes inside it.
                    _skip += (ulong)length;
                    _index--;
                }
                else
                {
                    _skip = 0;
                }

                return true;
            }

            address = 0;
            length = 0;
            return false;
        }
    }
}
