using System.Buffers.Binary;
using System.Collections.Immutable;

namespace ActorVmm.Devices.Pci.Msix;

/// <summary>
/// The MSI-X table and pending-bit array of one function (pure; the function's lock serializes it). A vector is
/// delivered through its <see cref="IMsiVector"/> when MSI-X is enabled and neither the function nor the vector is
/// masked; while masked, triggering it sets its pending bit instead, and unmasking delivers it and clears the bit.
/// Accesses of any width are served byte by byte; the PCI spec defines dword and aligned qword accesses, and a qword
/// write is applied whole before any delivery or route update, so it never exposes a half-written message.
/// </summary>
internal sealed class MsixTable
{
    // Guest-writable bits of each byte of a table entry: address and data, then only the vector-control mask bit.
    private static readonly byte[] EntryWritable = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, (byte)MsixRegisters.VectorMasked, 0, 0, 0];

    private readonly MsixDefinition _definition;
    private readonly IMsiVector[] _vectors;
    private readonly byte[] _table;
    private readonly ulong[] _pending;
    private readonly bool[] _masked;

    /// <summary>Creates the power-on table (every vector masked) with its delivery seams.</summary>
    public MsixTable(MsixDefinition definition, Func<int, IMsiVector> vectors)
    {
        _definition = definition;
        _vectors = new IMsiVector[definition.VectorCount];
        for (int i = 0; i < _vectors.Length; i++)
        {
            _vectors[i] = vectors(i) ?? throw new ArgumentException($"no MSI vector binding for vector {i}", nameof(vectors));
        }

        _table = new byte[definition.TableSize];
        _pending = new ulong[definition.PbaQwords];
        _masked = new bool[definition.VectorCount];
        Array.Fill(_masked, true);
        Reset();
    }

    /// <summary>MSI-X enable bit of message control, as last applied.</summary>
    public bool Enabled { get; private set; }

    /// <summary>Function mask bit of message control, as last applied.</summary>
    public bool FunctionMasked { get; private set; }

    /// <summary>Number of vectors.</summary>
    public int VectorCount => _vectors.Length;

    /// <summary>The vector's message address.</summary>
    public ulong Address(int vector) => BinaryPrimitives.ReadUInt64LittleEndian(Entry(vector));

    /// <summary>The vector's message data.</summary>
    public uint Data(int vector) => BinaryPrimitives.ReadUInt32LittleEndian(Entry(vector)[MsixRegisters.EntryData..]);

    /// <summary>True when the vector's own mask bit is set.</summary>
    public bool IsVectorMasked(int vector) => (Entry(vector)[MsixRegisters.EntryVectorControl] & MsixRegisters.VectorMasked) != 0;

    /// <summary>True when the vector's pending bit is set.</summary>
    public bool IsPending(int vector) => (_pending[vector / MsixRegisters.PendingBitsPerQword] & PendingBit(vector)) != 0;

    /// <summary>Returns the table to power-on: every vector masked, messages 0, nothing pending, MSI-X off.</summary>
    public void Reset()
    {
        Array.Clear(_table);
        Array.Clear(_pending);
        for (int v = 0; v < VectorCount; v++)
        {
            _table[(v * MsixRegisters.EntrySize) + MsixRegisters.EntryVectorControl] = (byte)MsixRegisters.VectorMasked;
        }

        Enabled = false;
        FunctionMasked = false;
        for (int v = 0; v < VectorCount; v++)
        {
            PublishMask(v, force: false);
        }
    }

    /// <summary>Applies message control; delivers pending vectors that this unmasks.</summary>
    public void SetControl(bool enabled, bool functionMasked)
    {
        if (enabled == Enabled && functionMasked == FunctionMasked)
        {
            return;
        }

        Enabled = enabled;
        FunctionMasked = functionMasked;
        for (int v = 0; v < VectorCount; v++)
        {
            PublishMask(v, force: false);
            DeliverIfPendingAndUnmasked(v);
        }
    }

    /// <summary>
    /// The device raises <paramref name="vector"/>: delivered now, or made pending while masked. False when MSI-X is
    /// disabled (nothing happens; the device uses INTx) or the vector does not exist.
    /// </summary>
    public bool Trigger(int vector)
    {
        if (!Enabled || (uint)vector >= (uint)VectorCount)
        {
            return false;
        }

        if (FunctionMasked || IsVectorMasked(vector))
        {
            _pending[vector / MsixRegisters.PendingBitsPerQword] |= PendingBit(vector);
        }
        else
        {
            _vectors[vector].Trigger();
        }

        return true;
    }

    /// <summary>True when BAR <paramref name="bar"/> offset <paramref name="offset"/> is in the table or the PBA.</summary>
    public bool Contains(int bar, ulong offset) => _definition.InTable(bar, offset) || _definition.InPba(bar, offset);

    /// <summary>Reads bytes starting at a BAR offset; bytes in neither structure read 0.</summary>
    public void Read(int bar, ulong offset, Span<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            ulong at = offset + (ulong)i;
            data[i] = _definition.InTable(bar, at) ? _table[at - _definition.TableOffset]
                : _definition.InPba(bar, at) ? PbaByte((int)(at - _definition.PbaOffset))
                : (byte)0;
        }
    }

    /// <summary>Writes bytes starting at a BAR offset (the PBA is read-only), then applies the touched entries.</summary>
    public void Write(int bar, ulong offset, ReadOnlySpan<byte> data)
    {
        if (bar != _definition.Bar || data.IsEmpty)
        {
            return;
        }

        // The part of the access inside the table; offsets are BAR-relative, so the sums cannot overflow.
        ulong tableEnd = _definition.TableOffset + _definition.TableSize;
        ulong start = Math.Max(offset, _definition.TableOffset);
        ulong end = Math.Min(offset + (ulong)data.Length, tableEnd);
        if (start >= end)
        {
            return;
        }

        int firstVector = (int)((start - _definition.TableOffset) / MsixRegisters.EntrySize);
        int lastVector = (int)((end - 1 - _definition.TableOffset) / MsixRegisters.EntrySize);
        Span<Message> before = stackalloc Message[lastVector - firstVector + 1];
        for (int v = firstVector; v <= lastVector; v++)
        {
            before[v - firstVector] = MessageOf(v);
        }

        for (ulong at = start; at < end; at++)
        {
            int index = (int)(at - _definition.TableOffset);
            byte writable = EntryWritable[index % MsixRegisters.EntrySize];
            _table[index] = (byte)((_table[index] & ~writable) | (data[(int)(at - offset)] & writable));
        }

        for (int v = firstVector; v <= lastVector; v++)
        {
            var now = MessageOf(v);
            if (now != before[v - firstVector])
            {
                _vectors[v].Update(now.Address, now.Data);
            }

            PublishMask(v, force: false);
            DeliverIfPendingAndUnmasked(v);
        }
    }

    /// <summary>Publishes every programmed message to its route, then every vector's mask state (at start and after a rebuild from captured state).</summary>
    public void PublishProgrammedMessages()
    {
        for (int v = 0; v < VectorCount; v++)
        {
            if (Address(v) != 0 || Data(v) != 0)
            {
                _vectors[v].Update(Address(v), Data(v));
            }

            PublishMask(v, force: true);
        }
    }

    /// <summary>True when the vector may not deliver now: MSI-X off, the function masked, or the vector's mask bit set.</summary>
    public bool IsMasked(int vector) => !Enabled || FunctionMasked || IsVectorMasked(vector);

    /// <summary>The table bytes.</summary>
    public ImmutableArray<byte> CaptureTable() => [.. _table];

    /// <summary>The pending-bit array.</summary>
    public ImmutableArray<ulong> CapturePending() => [.. _pending];

    /// <summary>Loads validated table bytes and pending bits; message control is applied separately.</summary>
    /// <exception cref="DeviceStateException">The sizes differ from the definition's.</exception>
    public void Restore(ImmutableArray<byte> table, ImmutableArray<ulong> pending)
    {
        if (table.Length != _table.Length || pending.Length != _pending.Length)
        {
            throw new DeviceStateException($"MSI-X state has {table.Length / MsixRegisters.EntrySize} vectors, the function has {VectorCount}");
        }

        table.CopyTo(_table);
        pending.CopyTo(_pending);
    }

    private static ulong PendingBit(int vector) => 1UL << (vector % MsixRegisters.PendingBitsPerQword);

    private ReadOnlySpan<byte> Entry(int vector) => _table.AsSpan(vector * MsixRegisters.EntrySize, MsixRegisters.EntrySize);

    private Message MessageOf(int vector) => new(Address(vector), Data(vector));

    // Tells the vector its mask state when it changed (or always, when forced).
    private void PublishMask(int vector, bool force)
    {
        bool masked = IsMasked(vector);
        if (force || masked != _masked[vector])
        {
            _masked[vector] = masked;
            _vectors[vector].SetMasked(masked);
        }
    }

    private void DeliverIfPendingAndUnmasked(int vector)
    {
        if (Enabled && !FunctionMasked && !IsVectorMasked(vector) && IsPending(vector))
        {
            _pending[vector / MsixRegisters.PendingBitsPerQword] &= ~PendingBit(vector);
            _vectors[vector].Trigger();
        }
    }

    private byte PbaByte(int index) => (byte)(_pending[index / sizeof(ulong)] >> (8 * (index % sizeof(ulong))));

    /// <summary>A vector's message, to tell whether a write changed it.</summary>
    private readonly record struct Message(ulong Address, uint Data);
}
