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

    private const int TlbEntries = 64;
    private const ulong PtePresent = 1UL << 0;
    private const ulong PteWritable = 1UL << 1;
    private const ulong PteAccessed = 1UL << 5;
    private const ulong PteDirty = 1UL << 6;
    private const ulong PteLarge = 1UL << 7;
    private const ulong PteFrameMask = 0x000F_FFFF_FFFF_F000;
    private const uint PfPresent = 1;
    private const uint PfWrite = 2;
    private const uint PfFetch = 16;

    private readonly ulong _ramBase;
    private readonly ulong _ramSize;
    private readonly nint _ramHost;
    private readonly ulong[] _tlbTag = new ulong[TlbEntries];
    private readonly ulong[] _tlbPhys = new ulong[TlbEntries];

    /// <summary>Empties the TLB (CR3 write, paging mode change).</summary>
    internal void FlushTlb()
    {
        Array.Clear(_tlbTag);
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
        if (_tlbTag[slot] == vpn + 1 && (kind != AccessKind.Write || (phys & PteWritable) != 0))
        {
            return (phys & ~0xFFFUL) | (linear & 0xFFF);
        }

        return Walk(linear, kind);
    }

    private ulong Walk(ulong linear, AccessKind kind)
    {
        bool write = kind == AccessKind.Write;
        bool enforceWrite = write && (Cr0 & Cr0WP) != 0;
        ulong writable = PteWritable;
        ulong frame;
        ulong leaf;
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
                ulong entry = WalkEntry(entryAddress, 8, linear, kind);
                writable &= entry;
                if (enforceWrite && (entry & PteWritable) == 0)
                {
                    throw PageFault(linear, PfPresent, kind);
                }

                bool isLeaf = shift == 12 || ((shift == 21 || shift == 30) && (entry & PteLarge) != 0);
                if (isLeaf)
                {
                    leaf = entry;
                    if (write && (entry & PteDirty) == 0)
                    {
                        WritePhysical(entryAddress, 8, entry | PteDirty | PteAccessed);
                    }

                    ulong pageMask = (1UL << shift) - 1;
                    frame = ((entry & PteFrameMask & ~pageMask) | (linear & pageMask)) & ~0xFFFUL;
                    break;
                }

                table = entry & PteFrameMask;
                shift -= 9;
            }
        }
        else if ((Cr4 & Cr4PAE) != 0)
        {
            ulong pdpte = WalkEntry((Cr3 & 0xFFFF_FFE0) + (((linear >> 30) & 3) * 8), 8, linear, kind);
            ulong pdeAddress = (pdpte & PteFrameMask) + (((linear >> 21) & 0x1FF) * 8);
            ulong pde = WalkEntry(pdeAddress, 8, linear, kind);
            writable &= pde;
            if ((pde & PteLarge) != 0)
            {
                frame = (pde & PteFrameMask & ~0x1F_FFFFUL) | (linear & 0x1F_F000);
                leaf = pde;
                MarkDirty(pdeAddress, 8, pde, write);
            }
            else
            {
                ulong pteAddress = (pde & PteFrameMask) + (((linear >> 12) & 0x1FF) * 8);
                ulong pte = WalkEntry(pteAddress, 8, linear, kind);
                writable &= pte;
                frame = pte & PteFrameMask;
                leaf = pte;
                MarkDirty(pteAddress, 8, pte, write);
            }
        }
        else
        {
            linear &= 0xFFFF_FFFF;
            ulong pdeAddress = (Cr3 & 0xFFFF_F000) + (((linear >> 22) & 0x3FF) * 4);
            ulong pde = WalkEntry(pdeAddress, 4, linear, kind);
            writable &= pde;
            if ((pde & PteLarge) != 0 && (Cr4 & Cr4PSE) != 0)
            {
                frame = (pde & 0xFFC0_0000) | (linear & 0x3F_F000);
                leaf = pde;
                MarkDirty(pdeAddress, 4, pde, write);
            }
            else
            {
                ulong pteAddress = (pde & 0xFFFF_F000) + (((linear >> 12) & 0x3FF) * 4);
                ulong pte = WalkEntry(pteAddress, 4, linear, kind);
                writable &= pte;
                frame = pte & 0xFFFF_F000;
                leaf = pte;
                MarkDirty(pteAddress, 4, pte, write);
            }
        }

        if (enforceWrite && writable == 0)
        {
            throw PageFault(linear, PfPresent, kind);
        }

        // Supervisor writes ignore read-only pages unless CR0.WP is set, so cache them as writable then.
        if ((Cr0 & Cr0WP) == 0)
        {
            writable = PteWritable;
        }

        // Cache a clean page as read-only so the first write walks again and sets the dirty bit (as hardware does).
        if (!write && (leaf & PteDirty) == 0)
        {
            writable = 0;
        }

        ulong vpn = linear >> 12;
        int slot = (int)(vpn % TlbEntries);
        _tlbTag[slot] = vpn + 1;
        _tlbPhys[slot] = frame | writable;
        return frame | (linear & 0xFFF);
    }

    private ulong WalkEntry(ulong address, int size, ulong linear, AccessKind kind)
    {
        ulong entry = ReadPhysical(address, size);
        if ((entry & PtePresent) == 0)
        {
            throw PageFault(linear, 0, kind);
        }

        if ((entry & PteAccessed) == 0)
        {
            WritePhysical(address, size, entry | PteAccessed);
        }

        return entry;
    }

    private void MarkDirty(ulong address, int size, ulong entry, bool write)
    {
        if (write && (entry & PteDirty) == 0)
        {
            WritePhysical(address, size, entry | PteDirty | PteAccessed);
        }
    }

    private GuestFault PageFault(ulong linear, uint error, AccessKind kind)
    {
        Cr2 = linear;
        error |= kind == AccessKind.Write ? PfWrite : 0;
        error |= kind == AccessKind.Fetch && (Efer & (1UL << 11)) != 0 ? PfFetch : 0;
        return new GuestFault(ExceptionVector.PF, error);
    }

    /// <summary>Reads 1, 2, 4 or 8 bytes at a linear address.</summary>
    internal ulong ReadLinear(ulong linear, int size)
    {
        if (CrossesPage(linear, size) && (Cr0 & Cr0PG) != 0)
        {
            // Each page's part at its own physical address, low part first (as KVM's emulator splits such an access).
            int low = BytesToPageEnd(linear);
            ulong first = Translate(linear, AccessKind.Read);
            ulong second = Translate(linear + (ulong)low, AccessKind.Read);
            return ReadPart(first, low) | (ReadPart(second, size - low) << (8 * low));
        }

        return ReadPhysical(Translate(linear, AccessKind.Read), size);
    }

    /// <summary>Writes 1, 2, 4 or 8 bytes at a linear address.</summary>
    internal void WriteLinear(ulong linear, int size, ulong value)
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

        WritePhysical(Translate(linear, AccessKind.Write), size, value);
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
