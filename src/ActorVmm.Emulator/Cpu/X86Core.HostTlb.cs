using System.Runtime.CompilerServices;

namespace ActorVmm.Emulator.Cpu;

/// <summary>
/// The host TLB: for data accesses that stay inside one page of the first RAM slot, the host address of the page the
/// TLB maps a linear page to, so a hit reads or writes guest RAM without the TLB's permission check, the physical range
/// check and the access-size split. Filled only after <see cref="Translate(ulong, AccessKind)"/> allowed the same kind
/// of access (so accessed/dirty bits are already set), tagged with the user/supervisor mode of that access, and emptied
/// with the TLB (<see cref="FlushTlb"/>, <see cref="InvalidatePage"/>).
/// </summary>
internal sealed partial class X86Core
{
    private const int HostTlbEntries = 256;

    private readonly ulong[] _hostReadTag = new ulong[HostTlbEntries];
    private readonly nint[] _hostReadPage = new nint[HostTlbEntries];
    private readonly ulong[] _hostWriteTag = new ulong[HostTlbEntries];
    private readonly nint[] _hostWritePage = new nint[HostTlbEntries];
    private readonly ulong[] _hostWritePhysical = new ulong[HostTlbEntries];

    /// <summary>The tag of a linear page number for the current access mode (0 marks an empty entry).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong HostTag(ulong vpn) => ((vpn << 1) | (uint)(_userAccess & 1)) + 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int HostSlot(ulong vpn) => (int)(vpn & (HostTlbEntries - 1));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool StaysInPage(ulong linear, int size) => (linear & 0xFFF) <= (ulong)(0x1000 - size);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe bool TryHostRead(ulong linear, int size, out ulong value)
    {
        ulong vpn = linear >> 12;
        int slot = HostSlot(vpn);
        if (_hostReadTag[slot] != HostTag(vpn) || !StaysInPage(linear, size))
        {
            value = 0;
            return false;
        }

        // Safe: the entry holds the host address of a whole guest page inside the first RAM slot, and the access stays in it.
        byte* p = (byte*)_hostReadPage[slot] + (linear & 0xFFF);
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
        ulong vpn = linear >> 12;
        int slot = HostSlot(vpn);
        if (_hostWriteTag[slot] != HostTag(vpn) || !StaysInPage(linear, size))
        {
            return false;
        }

        // Safe: as for reads; the entry was filled after a write to the page was allowed.
        byte* p = (byte*)_hostWritePage[slot] + (linear & 0xFFF);
        switch (size)
        {
            case 1: *p = (byte)value; break;
            case 2: Unsafe.WriteUnaligned(p, (ushort)value); break;
            case 4: Unsafe.WriteUnaligned(p, (uint)value); break;
            default: Unsafe.WriteUnaligned(p, value); break;
        }

        _code.OnGuestWrite(_hostWritePhysical[slot] + (linear & 0xFFF), size);
        return true;
    }

    /// <summary>Remembers where a read of <paramref name="linear"/> went, when its page lies wholly in the first RAM slot.</summary>
    private void FillHostRead(ulong linear, ulong physical)
    {
        if (HostPage(physical) is { } page)
        {
            ulong vpn = linear >> 12;
            int slot = HostSlot(vpn);
            _hostReadTag[slot] = HostTag(vpn);
            _hostReadPage[slot] = page;
        }
    }

    /// <summary>Remembers where a write of <paramref name="linear"/> went, when its page lies wholly in the first RAM slot.</summary>
    private void FillHostWrite(ulong linear, ulong physical)
    {
        if (HostPage(physical) is { } page)
        {
            ulong vpn = linear >> 12;
            int slot = HostSlot(vpn);
            _hostWriteTag[slot] = HostTag(vpn);
            _hostWritePage[slot] = page;
            _hostWritePhysical[slot] = physical & ~0xFFFUL;
        }
    }

    private nint? HostPage(ulong physical)
    {
        ulong offset = (physical & ~0xFFFUL) - _ramBase;
        return offset < _ramSize && _ramSize - offset >= 0x1000 ? _ramHost + (nint)offset : null;
    }

    private void FlushHostTlb()
    {
        Array.Clear(_hostReadTag);
        Array.Clear(_hostWriteTag);
    }

    private void InvalidateHostPage(ulong linear)
    {
        int slot = HostSlot(linear >> 12);
        _hostReadTag[slot] = 0;
        _hostWriteTag[slot] = 0;
    }
}
