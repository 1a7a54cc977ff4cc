using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ActorVmm.Emulator.Cpu;

/// <summary>
/// The host TLB: for data accesses that stay inside one page of the first RAM slot, where the page the TLB maps a
/// linear page to lies in host memory, so a hit reads or writes guest RAM without the TLB's permission check, the
/// physical range check and the access-size split. An entry is filled only after <see cref="Translate(ulong, AccessKind)"/>
/// allowed the same kind of access (so accessed/dirty bits are already set), tagged with the user/supervisor mode of
/// that access, and emptied with the TLB (<see cref="FlushTlb"/>, <see cref="InvalidatePage"/>). A write hit also
/// needs the page not to hold decoded code (<see cref="CodePageTracker.CodeFlagAddress"/>): stores to code take the
/// slow path, which tells the code tracker.
/// </summary>
/// <remarks>
/// The entries live in a pinned array, so translated blocks address them from a pointer held in a local: a guest
/// store through a raw pointer does not make RyuJIT reload it, as it would an array field.
/// </remarks>
internal sealed partial class X86Core
{
    private const int HostTlbEntries = 256;

    /// <summary>log2 of <see cref="Unsafe.SizeOf{T}"/> of <see cref="HostTlbEntry"/>.</summary>
    private const int HostTlbEntryShift = 6;

    private readonly HostTlbEntry[] _hostTlb = GC.AllocateArray<HostTlbEntry>(HostTlbEntries, pinned: true);

    /// <summary>The address of <see cref="_hostTlb"/>'s first entry (the array is pinned for the core's life).</summary>
    private readonly nint _hostTlbBase;

    /// <summary>One linear page's host mapping for reads and for writes (each valid when its tag matches).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 1 << HostTlbEntryShift)]
    private struct HostTlbEntry
    {
        /// <summary>((vpn &lt;&lt; 1) | user) + 1 of the page reads may use; 0: none.</summary>
        [FieldOffset(ReadTagOffset)] public ulong ReadTag;

        /// <summary>Host address minus linear address, for reads.</summary>
        [FieldOffset(ReadAddendOffset)] public nint ReadAddend;

        /// <summary>As <see cref="ReadTag"/>, for writes.</summary>
        [FieldOffset(WriteTagOffset)] public ulong WriteTag;

        /// <summary>Host address minus linear address, for writes.</summary>
        [FieldOffset(WriteAddendOffset)] public nint WriteAddend;

        /// <summary>The code tracker's is-code byte of the physical page writes go to.</summary>
        [FieldOffset(WriteCodeFlagOffset)] public nint WriteCodeFlag;
    }

    private const int ReadTagOffset = 0;
    private const int ReadAddendOffset = 8;
    private const int WriteTagOffset = 16;
    private const int WriteAddendOffset = 24;
    private const int WriteCodeFlagOffset = 32;

    /// <summary>The tag of a linear page number for the current access mode (0 marks an empty entry).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong HostTag(ulong vpn) => ((vpn << 1) | (uint)(_userAccess & 1)) + 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref HostTlbEntry HostEntry(ulong linear) => ref _hostTlb[(int)((linear >> 12) & (HostTlbEntries - 1))];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool StaysInPage(ulong linear, int size) => (linear & 0xFFF) <= (ulong)(0x1000 - size);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe bool TryHostRead(ulong linear, int size, out ulong value)
    {
        ref var entry = ref HostEntry(linear);
        if (entry.ReadTag != HostTag(linear >> 12) || !StaysInPage(linear, size))
        {
            value = 0;
            return false;
        }

        // Safe: the entry maps the whole linear page into a guest page inside the first RAM slot, and the access stays in it.
        byte* p = (byte*)((nint)linear + entry.ReadAddend);
        value = size switch
        {
            1 => *p,
            2 => Unsafe.ReadUnaligned<ushort>(p),
            4 => Unsafe.ReadUnaligned<uint>(p),
            _ => Unsafe.ReadUnaligned<ulong>(p),
        };
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe bool TryHostWrite(ulong linear, int size, ulong value)
    {
        ref var entry = ref HostEntry(linear);
        // Safe: WriteCodeFlag points into the code tracker's pinned flag array (or its pinned zero byte).
        if (entry.WriteTag != HostTag(linear >> 12) || !StaysInPage(linear, size) || *(byte*)entry.WriteCodeFlag != 0)
        {
            return false;
        }

        // Safe: as for reads; the entry was filled after a write to the page was allowed.
        byte* p = (byte*)((nint)linear + entry.WriteAddend);
        switch (size)
        {
            case 1: *p = (byte)value; break;
            case 2: Unsafe.WriteUnaligned(p, (ushort)value); break;
            case 4: Unsafe.WriteUnaligned(p, (uint)value); break;
            default: Unsafe.WriteUnaligned(p, value); break;
        }

        return true;
    }

    /// <summary>
    /// Remembers where an access of <paramref name="linear"/> went (a write: <paramref name="write"/>), when its page
    /// lies wholly in the first RAM slot.
    /// </summary>
    private void FillHost(ulong linear, ulong physical, bool write)
    {
        ulong offset = (physical & ~0xFFFUL) - _ramBase;
        if (offset >= _ramSize || _ramSize - offset < 0x1000)
        {
            return;
        }

        ref var entry = ref HostEntry(linear);
        ulong tag = HostTag(linear >> 12);
        nint addend = _ramHost + (nint)offset - (nint)(linear & ~0xFFFUL);
        if (write)
        {
            entry.WriteTag = tag;
            entry.WriteAddend = addend;
            entry.WriteCodeFlag = _code.CodeFlagAddress(physical >> 12);
        }
        else
        {
            entry.ReadTag = tag;
            entry.ReadAddend = addend;
        }
    }

    // Safe: the array is pinned (allocated on the pinned object heap), so its first element's address never moves.
    private static unsafe nint HostTlbAddress(HostTlbEntry[] entries) => (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(entries));

    private void FlushHostTlb() => Array.Clear(_hostTlb);

    private void InvalidateHostPage(ulong linear)
    {
        ref var entry = ref HostEntry(linear);
        entry.ReadTag = 0;
        entry.WriteTag = 0;
    }
}
