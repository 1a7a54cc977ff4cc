using System.Runtime.CompilerServices;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Emulator.Cpu;

/// <summary>Linear and physical memory access: paging with a small TLB, RAM fast path, MMIO dispatch.</summary>
internal sealed partial class X86Core
{
    internal const ulong Cr0PE = 1UL << 0;
    internal const ulong Cr0WP = 1UL << 16;
    internal const ulong Cr0PG = 1UL << 31;
    internal const ulong Cr4PSE = 1UL << 4;
    internal const ulong Cr4PAE = 1UL << 5;
    internal const ulong EferLME = 1UL << 8;
    internal const ulong EferLMA = 1UL << 10;

    /// <summary>EFER.NXE: the XD bit (63) of PAE and 4-level entries forbids instruction fetches.</summary>
    internal const ulong EferNXE = 1UL << 11;

    /// <summary>
    /// MAXPHYADDR. CPUID leaf 0x80000008 is not offered, and software then assumes 36 bits when PAE is supported
    /// (SDM vol. 3, 4.1.4), so bits 51:36 of a PAE or 4-level entry are reserved.
    /// </summary>
    internal const int PhysicalAddressBits = 36;

    /// <summary>Page-fault error code (SDM vol. 3, 4.7): P, the fault was a protection or reserved-bit violation, not a non-present entry.</summary>
    internal const uint PfPresent = 1 << 0;

    /// <summary>Page-fault error code W/R: the access was a write.</summary>
    internal const uint PfWrite = 1 << 1;

    /// <summary>Page-fault error code U/S: the access was a user-mode access (CPL 3, not an implicit supervisor access).</summary>
    internal const uint PfUser = 1 << 2;

    /// <summary>Page-fault error code RSVD: a reserved bit was set in a present paging-structure entry.</summary>
    internal const uint PfReserved = 1 << 3;

    /// <summary>Page-fault error code I/D: an instruction fetch, reported only with CR4.PAE and EFER.NXE (no SMEP here).</summary>
    internal const uint PfFetch = 1 << 4;

    private const int TlbEntries = 64;
    private const ulong PtePresent = 1UL << 0;
    private const ulong PteWritable = 1UL << 1;
    private const ulong PteUser = 1UL << 2;
    private const ulong PteAccessed = 1UL << 5;
    private const ulong PteDirty = 1UL << 6;
    private const ulong PteLarge = 1UL << 7;
    private const ulong PteNoExecute = 1UL << 63;
    private const ulong PteFrameMask = 0x000F_FFFF_FFFF_F000;

    /// <summary>Bits 51:MAXPHYADDR of a PAE or 4-level entry.</summary>
    private const ulong PteAddressReserved = 0x000F_FFFF_FFFF_F000 & ~((1UL << PhysicalAddressBits) - 1);

    /// <summary>Bits 29:13 of a 1 GiB PDPTE (the frame is 1 GiB aligned; bit 12 is PAT).</summary>
    private const ulong Pte1GReserved = 0x3FFF_E000;

    /// <summary>Bits 20:13 of a 2 MiB PDE.</summary>
    private const ulong Pte2MReserved = 0x1F_E000;

    /// <summary>Bits 21:13 of a 32-bit 4 MiB PDE: PSE-36 is not advertised, so the high address bits are reserved.</summary>
    private const ulong Pde4MReserved = 0x3F_E000;

    // What a TLB entry allows, kept in the low bits of its page frame: each bit set only if every paging level grants it.
    // A clean page is cached without the write bits, so the first write walks again and sets the dirty bit.

    /// <summary>TLB: a supervisor write may go through (writable at all levels, or CR0.WP clear) and the page is dirty.</summary>
    private const ulong TlbSupervisorWrite = 1UL << 0;

    /// <summary>TLB: a user read may go through (U/S set at all levels).</summary>
    private const ulong TlbUserRead = 1UL << 1;

    /// <summary>TLB: a user write may go through (U/S and R/W at all levels) and the page is dirty.</summary>
    private const ulong TlbUserWrite = 1UL << 2;

    /// <summary>TLB: a supervisor fetch may go through (no XD at any level).</summary>
    private const ulong TlbSupervisorFetch = 1UL << 3;

    /// <summary>TLB: a user fetch may go through (U/S at all levels, no XD).</summary>
    private const ulong TlbUserFetch = 1UL << 4;

    /// <summary>What a hit needs, by <see cref="AccessKind"/> plus <see cref="_userAccess"/> (0 supervisor, 3 user).</summary>
    private static readonly ulong[] TlbNeed = [0, TlbSupervisorWrite, TlbSupervisorFetch, TlbUserRead, TlbUserWrite, TlbUserFetch];

    private readonly ulong _ramBase;
    private readonly ulong _ramSize;
    private readonly nint _ramHost;
    private readonly ulong[] _tlbTag = new ulong[TlbEntries];
    private readonly ulong[] _tlbPhys = new ulong[TlbEntries];

    /// <summary>
    /// 3 while accesses are user-mode accesses (CPL 3), else 0; cleared around implicit supervisor accesses
    /// (descriptor tables, the TSS) by <see cref="ReadSystemLinear"/>. Kept by <see cref="UpdateMode"/>.
    /// </summary>
    private int _userAccess;

    /// <summary>Empties the TLB (CR3 write, paging mode change).</summary>
    internal void FlushTlb()
    {
        Array.Clear(_tlbTag);
        FlushHostTlb();
        ResetFetchPage();
    }

    private void InvalidatePage(ulong linear)
    {
        ulong vpn = linear >> 12;
        int slot = (int)(vpn % TlbEntries);
        if (_tlbTag[slot] == vpn + 1)
        {
            _tlbTag[slot] = 0;
        }

        InvalidateHostPage(linear);
        ResetFetchPage();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong Translate(ulong linear, AccessKind kind)
    {
        if ((Cr0 & Cr0PG) == 0)
        {
            return linear;
        }

        ulong vpn = linear >> 12;
        int slot = (int)(vpn % TlbEntries);
        ulong phys = _tlbPhys[slot];
        ulong need = TlbNeed[(int)kind + _userAccess];
        if (_tlbTag[slot] == vpn + 1 && (phys & need) == need)
        {
            return (phys & ~0xFFFUL) | (linear & 0xFFF);
        }

        return Walk(linear, kind);
    }

    /// <summary>
    /// Walks the paging structures (SDM vol. 3, 4.3-4.6): a non-present entry or a reserved bit ends the walk with #PF;
    /// access rights are the combination over all levels (R/W and U/S ANDed, XD ORed) and are checked at the end. The
    /// accessed flag is set on each table entry used and, once the access is allowed, accessed and dirty on the leaf.
    /// </summary>
    private ulong Walk(ulong linear, AccessKind kind)
    {
        bool write = kind == AccessKind.Write;
        bool nxe = (Efer & EferNXE) != 0;
        ulong rights = PteWritable | PteUser;
        ulong noExecute = 0;
        ulong frame;
        ulong leaf;
        ulong leafAddress;
        int leafSize = 8;
        if ((Efer & EferLMA) != 0)
        {
            ulong top = linear >> 47;
            if (top != 0 && top != 0x1_FFFF)
            {
                throw new GuestFault(ExceptionVector.GP, 0);
            }

            ulong table = Cr3 & PteFrameMask;
            int shift = 39;
            while (true)
            {
                ulong entryAddress = table + (((linear >> shift) & 0x1FF) * 8);
                ulong entry = ReadPresentEntry(entryAddress, 8, linear, kind);
                bool large = (entry & PteLarge) != 0;
                ulong reserved = PteAddressReserved | (nxe ? 0 : PteNoExecute);
                reserved |= shift switch
                {
                    39 => PteLarge,
                    30 when large => Pte1GReserved,
                    21 when large => Pte2MReserved,
                    _ => 0,
                };
                CheckReserved(entry, reserved, linear, kind);
                rights &= entry;
                noExecute |= entry;
                if (shift == 12 || (large && shift is 21 or 30))
                {
                    leaf = entry;
                    leafAddress = entryAddress;
                    ulong pageMask = (1UL << shift) - 1;
                    frame = ((entry & PteFrameMask & ~pageMask) | (linear & pageMask)) & ~0xFFFUL;
                    break;
                }

                MarkAccessed(entryAddress, 8, entry);
                table = entry & PteFrameMask;
                shift -= 9;
            }
        }
        else if ((Cr4 & Cr4PAE) != 0)
        {
            // The PDPTE has no R/W, U/S or XD bits; hardware checks its reserved bits when CR3 is loaded (#GP), not here.
            ulong pdpte = ReadPresentEntry((Cr3 & 0xFFFF_FFE0) + (((linear >> 30) & 3) * 8), 8, linear, kind);
            ulong pdeAddress = (pdpte & PteFrameMask) + (((linear >> 21) & 0x1FF) * 8);
            ulong pde = ReadPresentEntry(pdeAddress, 8, linear, kind);
            bool large = (pde & PteLarge) != 0;
            CheckReserved(pde, PteAddressReserved | (nxe ? 0 : PteNoExecute) | (large ? Pte2MReserved : 0), linear, kind);
            rights &= pde;
            noExecute |= pde;
            if (large)
            {
                frame = (pde & PteFrameMask & ~0x1F_FFFFUL) | (linear & 0x1F_F000);
                leaf = pde;
                leafAddress = pdeAddress;
            }
            else
            {
                MarkAccessed(pdeAddress, 8, pde);
                ulong pteAddress = (pde & PteFrameMask) + (((linear >> 12) & 0x1FF) * 8);
                ulong pte = ReadPresentEntry(pteAddress, 8, linear, kind);
                CheckReserved(pte, PteAddressReserved | (nxe ? 0 : PteNoExecute), linear, kind);
                rights &= pte;
                noExecute |= pte;
                frame = pte & PteFrameMask;
                leaf = pte;
                leafAddress = pteAddress;
            }
        }
        else
        {
            // 32-bit paging: 4-byte entries, no XD bit.
            linear &= 0xFFFF_FFFF;
            leafSize = 4;
            ulong pdeAddress = (Cr3 & 0xFFFF_F000) + (((linear >> 22) & 0x3FF) * 4);
            ulong pde = ReadPresentEntry(pdeAddress, 4, linear, kind);
            rights &= pde;
            if ((pde & PteLarge) != 0 && (Cr4 & Cr4PSE) != 0)
            {
                CheckReserved(pde, Pde4MReserved, linear, kind);
                frame = (pde & 0xFFC0_0000) | (linear & 0x3F_F000);
                leaf = pde;
                leafAddress = pdeAddress;
            }
            else
            {
                MarkAccessed(pdeAddress, 4, pde);
                ulong pteAddress = (pde & 0xFFFF_F000) + (((linear >> 12) & 0x3FF) * 4);
                ulong pte = ReadPresentEntry(pteAddress, 4, linear, kind);
                rights &= pte;
                frame = pte & 0xFFFF_F000;
                leaf = pte;
                leafAddress = pteAddress;
            }
        }

        bool user = _userAccess != 0;
        bool userPage = (rights & PteUser) != 0;
        bool writablePage = (rights & PteWritable) != 0;
        bool executable = !nxe || (noExecute & PteNoExecute) == 0;
        bool supervisorMayWrite = writablePage || (Cr0 & Cr0WP) == 0;
        bool allowed = kind switch
        {
            AccessKind.Write => user ? userPage && writablePage : supervisorMayWrite,
            AccessKind.Fetch => executable && (!user || userPage),
            _ => !user || userPage,
        };
        if (!allowed)
        {
            throw PageFault(linear, PfPresent, kind);
        }

        ulong marked = leaf | PteAccessed | (write ? PteDirty : 0);
        if (marked != leaf)
        {
            WritePhysical(leafAddress, leafSize, marked);
        }

        bool dirty = (marked & PteDirty) != 0;
        ulong permissions = (dirty && supervisorMayWrite ? TlbSupervisorWrite : 0)
            | (userPage ? TlbUserRead : 0)
            | (userPage && writablePage && dirty ? TlbUserWrite : 0)
            | (executable ? TlbSupervisorFetch : 0)
            | (executable && userPage ? TlbUserFetch : 0);
        ulong vpn = linear >> 12;
        int slot = (int)(vpn % TlbEntries);
        _tlbTag[slot] = vpn + 1;
        _tlbPhys[slot] = frame | permissions;
        return frame | (linear & 0xFFF);
    }

    /// <summary>Reads a paging-structure entry; a clear present bit is #PF with P = 0.</summary>
    private ulong ReadPresentEntry(ulong address, int size, ulong linear, AccessKind kind)
    {
        ulong entry = ReadPhysical(address, size);
        if ((entry & PtePresent) == 0)
        {
            throw PageFault(linear, 0, kind);
        }

        return entry;
    }

    /// <summary>A reserved bit set in a present entry is #PF with P and RSVD.</summary>
    private void CheckReserved(ulong entry, ulong reserved, ulong linear, AccessKind kind)
    {
        if ((entry & reserved) != 0)
        {
            throw PageFault(linear, PfPresent | PfReserved, kind);
        }
    }

    private void MarkAccessed(ulong address, int size, ulong entry)
    {
        if ((entry & PteAccessed) == 0)
        {
            WritePhysical(address, size, entry | PteAccessed);
        }
    }

    private GuestFault PageFault(ulong linear, uint error, AccessKind kind)
    {
        Cr2 = linear;
        error |= kind == AccessKind.Write ? PfWrite : 0;
        error |= _userAccess != 0 ? PfUser : 0;
        error |= kind == AccessKind.Fetch && (Efer & EferNXE) != 0 && (Cr4 & Cr4PAE) != 0 ? PfFetch : 0;
        return new GuestFault(ExceptionVector.PF, error);
    }

    /// <summary>
    /// An implicit supervisor-mode access (GDT, IDT, TSS): checked as a supervisor access even at CPL 3
    /// (SDM vol. 3, 4.6), so user code cannot read them but the CPU can on its behalf.
    /// </summary>
    private ulong ReadSystemLinear(ulong linear, int size)
    {
        int saved = _userAccess;
        _userAccess = 0;
        try
        {
            return ReadLinear(linear, size);
        }
        finally
        {
            _userAccess = saved;
        }
    }

    /// <summary>Reads 1, 2, 4 or 8 bytes at a linear address.</summary>
    internal ulong ReadLinear(ulong linear, int size) => TryHostRead(linear, size, out ulong value) ? value : ReadLinearSlow(linear, size);

    private ulong ReadLinearSlow(ulong linear, int size)
    {
        if (CrossesPage(linear, size) && (Cr0 & Cr0PG) != 0)
        {
            // Each page's part at its own physical address, low part first (as KVM's emulator splits such an access).
            int low = BytesToPageEnd(linear);
            ulong first = Translate(linear, AccessKind.Read);
            ulong second = Translate(linear + (ulong)low, AccessKind.Read);
            return ReadPart(first, low) | (ReadPart(second, size - low) << (8 * low));
        }

        ulong physical = Translate(linear, AccessKind.Read);
        if (!CrossesPage(linear, size))
        {
            FillHost(linear, physical, write: false);
        }

        return ReadPhysical(physical, size);
    }

    /// <summary>Writes 1, 2, 4 or 8 bytes at a linear address.</summary>
    internal void WriteLinear(ulong linear, int size, ulong value)
    {
        if (!TryHostWrite(linear, size, value))
        {
            WriteLinearSlow(linear, size, value);
        }
    }

    private void WriteLinearSlow(ulong linear, int size, ulong value)
    {
        if (CrossesPage(linear, size) && (Cr0 & Cr0PG) != 0)
        {
            // Translate both pages first so a fault on the second page leaves memory untouched.
            int low = BytesToPageEnd(linear);
            ulong first = Translate(linear, AccessKind.Write);
            ulong second = Translate(linear + (ulong)low, AccessKind.Write);
            WritePart(first, low, value);
            WritePart(second, size - low, value >> (8 * low));
            return;
        }

        ulong physical = Translate(linear, AccessKind.Write);
        if (!CrossesPage(linear, size))
        {
            FillHost(linear, physical, write: true);
        }

        WritePhysical(physical, size, value);
    }

    private static bool CrossesPage(ulong address, int size) => (address & 0xFFF) + (ulong)size > 0x1000;

    private static int BytesToPageEnd(ulong address) => (int)(0x1000 - (address & 0xFFF));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe ulong ReadPhysical(ulong physical, int size)
    {
        ulong offset = physical - _ramBase;
        if (offset < _ramSize && _ramSize - offset >= (ulong)size)
        {
            // Safe: the range was just checked to lie inside the first RAM slot.
            byte* p = (byte*)_ramHost + offset;
            return size switch
            {
                1 => *p,
                2 => Unsafe.ReadUnaligned<ushort>(p),
                4 => Unsafe.ReadUnaligned<uint>(p),
                _ => Unsafe.ReadUnaligned<ulong>(p),
            };
        }

        return ReadPhysicalSlow(physical, size);
    }

    private ulong ReadPhysicalSlow(ulong physical, int size)
    {
        if (!CrossesPage(physical, size) || _memory.IsRam(physical, (ulong)size))
        {
            return ReadPart(physical, size);
        }

        // RAM and MMIO meet only at page boundaries (slots are page-aligned): each page's part goes to RAM or to the
        // MMIO bus on its own, so the RAM half of an access straddling the end of RAM is not lost.
        int low = BytesToPageEnd(physical);
        return ReadPart(physical, low) | (ReadPart(physical + (ulong)low, size - low) << (8 * low));
    }

    /// <summary>Reads RAM that is one run of slots, or else dispatches one MMIO read.</summary>
    private unsafe ulong ReadPart(ulong physical, int size)
    {
        if (_memory.TryTranslate(physical, (ulong)size, out nint host))
        {
            // Safe: TryTranslate proved the whole access lies in a RAM slot.
            var bytes = new ReadOnlySpan<byte>((void*)host, size);
            return TrapAccess.ReadLittleEndian(bytes);
        }

        if (_memory.IsRam(physical, (ulong)size))
        {
            // RAM across two slots that follow each other in guest-physical space.
            Span<byte> spanning = stackalloc byte[size];
            _memory.Read(physical, spanning);
            return TrapAccess.ReadLittleEndian(spanning);
        }

        // The local APIC page is inside the CPU: its accesses never reach the bus (as KVM's in-kernel APIC).
        if (physical - LocalApicRegisters.DefaultBase < LocalApicRegisters.PageSize)
        {
            return _apic.Read(physical - LocalApicRegisters.DefaultBase, size);
        }

        // So is the IOAPIC: part of the emulator's irqchip (the APIC bus), as KVM's in-kernel one.
        if (IsIoApic(physical))
        {
            return _machine.Bus.ReadIoApic(physical - X86MemoryMap.IoApicBase, size);
        }

        var data = _io.AsSpan(0, size);
        _dispatcher.Dispatch(Id, TrapBus.Mmio, physical, TrapDirection.Read, data);
        AfterDispatch();
        return TrapAccess.ReadLittleEndian(data);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe void WritePhysical(ulong physical, int size, ulong value)
    {
        ulong offset = physical - _ramBase;
        if (offset < _ramSize && _ramSize - offset >= (ulong)size)
        {
            // Safe: the range was just checked to lie inside the first RAM slot.
            byte* p = (byte*)_ramHost + offset;
            switch (size)
            {
                case 1: *p = (byte)value; break;
                case 2: Unsafe.WriteUnaligned(p, (ushort)value); break;
                case 4: Unsafe.WriteUnaligned(p, (uint)value); break;
                default: Unsafe.WriteUnaligned(p, value); break;
            }

            _code.OnGuestWrite(physical, size);
            return;
        }

        WritePhysicalSlow(physical, size, value);
    }

    private void WritePhysicalSlow(ulong physical, int size, ulong value)
    {
        if (!CrossesPage(physical, size) || _memory.IsRam(physical, (ulong)size))
        {
            WritePart(physical, size, value);
            return;
        }

        // As for reads: the part in RAM goes to RAM, the rest to the MMIO bus, low part first.
        int low = BytesToPageEnd(physical);
        WritePart(physical, low, value);
        WritePart(physical + (ulong)low, size - low, value >> (8 * low));
    }

    /// <summary>Writes RAM that is one run of slots, or else dispatches one MMIO write.</summary>
    private unsafe void WritePart(ulong physical, int size, ulong value)
    {
        if (_memory.TryTranslate(physical, (ulong)size, out nint host))
        {
            // Safe: TryTranslate proved the whole access lies in a RAM slot.
            TrapAccess.WriteLittleEndian(new Span<byte>((void*)host, size), value);
            _code.OnGuestWrite(physical, size);
            return;
        }

        if (_memory.IsRam(physical, (ulong)size))
        {
            // RAM across two slots that follow each other in guest-physical space; the copy tells the code tracker (the memory's write observer).
            Span<byte> spanning = stackalloc byte[size];
            TrapAccess.WriteLittleEndian(spanning, value);
            _memory.Write(physical, spanning);
            return;
        }

        if (physical - LocalApicRegisters.DefaultBase < LocalApicRegisters.PageSize)
        {
            _apic.Write(physical - LocalApicRegisters.DefaultBase, size, value);

            // An EOI, TPR or timer write can make an interrupt deliverable or move the timer: look at the APIC now.
            _budget = 0;
            return;
        }

        if (IsIoApic(physical))
        {
            _machine.Bus.WriteIoApic(physical - X86MemoryMap.IoApicBase, size, value);
            _budget = 0;
            return;
        }

        // Doorbells come before the trap table, as KVM's ioeventfds do: a matching write never reaches a handler.
        if (_doorbells.TryRing(TrapBus.Mmio, physical, size, value & SizeMask[size]))
        {
            AfterDispatch();
            return;
        }

        var data = _io.AsSpan(0, size);
        TrapAccess.WriteLittleEndian(data, value);
        _dispatcher.Dispatch(Id, TrapBus.Mmio, physical, TrapDirection.Write, data);
        AfterDispatch();
    }

    /// <summary>
    /// Atomically replaces the value at a linear address when it still equals <paramref name="expected"/>
    /// (LOCK-prefixed read-modify-write on RAM). MMIO has no atomicity: it is a plain write.
    /// </summary>
    private unsafe bool CompareExchangeLinear(ulong linear, int size, ulong expected, ulong value)
    {
        ulong physical = Translate(linear, AccessKind.Write);
        if (((linear & 0xFFF) + (ulong)size) > 0x1000 && (Cr0 & Cr0PG) != 0)
        {
            WriteLinear(linear, size, value);
            return true;
        }

        if (!_memory.TryTranslate(physical, (ulong)size, out nint host))
        {
            WritePhysical(physical, size, value);
            return true;
        }

        // Safe: TryTranslate proved [host, host + size) is mapped guest RAM; x86 allows unaligned locked operations.
        bool swapped = size switch
        {
            1 => Interlocked.CompareExchange(ref *(byte*)host, (byte)value, (byte)expected) == (byte)expected,
            2 => Interlocked.CompareExchange(ref *(ushort*)host, (ushort)value, (ushort)expected) == (ushort)expected,
            4 => Interlocked.CompareExchange(ref *(uint*)host, (uint)value, (uint)expected) == (uint)expected,
            _ => Interlocked.CompareExchange(ref *(ulong*)host, value, expected) == expected,
        };
        if (swapped)
        {
            _code.OnGuestWrite(physical, size);
        }

        return swapped;
    }

    private void AfterDispatch()
    {
        if (_exitRequested)
        {
            _budget = 0;
        }
    }

    /// <summary>Port input of 1, 2 or 4 bytes: one dispatch.</summary>
    private ulong PortRead(ushort port, int size)
    {
        var data = _io.AsSpan(0, size);
        _dispatcher.Dispatch(Id, TrapBus.Pio, port, TrapDirection.Read, data);
        AfterDispatch();
        return TrapAccess.ReadLittleEndian(data);
    }

    /// <summary>Port output of 1, 2 or 4 bytes: one dispatch.</summary>
    private void PortWrite(ushort port, int size, ulong value)
    {
        if (_doorbells.TryRing(TrapBus.Pio, port, size, value & SizeMask[size]))
        {
            AfterDispatch();
            return;
        }

        var data = _io.AsSpan(0, size);
        TrapAccess.WriteLittleEndian(data, value);
        _dispatcher.Dispatch(Id, TrapBus.Pio, port, TrapDirection.Write, data);
        AfterDispatch();
    }
}
