namespace ActorVmm.Emulator.Cpu;

/// <summary>
/// Protection checks of protected and long mode (SDM vol. 3, chapter 5, and the instruction pages): IOPL and the TSS
/// I/O permission bitmap, what POPF/IRET may change in RFLAGS, and the code-segment rules of far transfers.
/// </summary>
internal sealed partial class X86Core
{
    /// <summary>RFLAGS.IOPL (bits 13:12).</summary>
    internal const ulong FlagsIopl = 3UL << 12;

    /// <summary>32-bit/64-bit TSS: the 16-bit offset of the I/O permission bitmap.</summary>
    internal const ulong TssIoMapBase = 0x66;

    /// <summary>The smallest limit of a TSS that has the I/O map base field (a 104-byte TSS).</summary>
    private const uint TssMinimumLimit = 0x67;

    /// <summary>32-bit TSS: ESP0 at offset 4 and SS0 at offset 8 (ESP1/SS1, ESP2/SS2 follow, 8 bytes apart).</summary>
    internal const ulong TssEsp0 = 0x04;
    internal const ulong TssSs0 = 0x08;

    private int Iopl => (int)((Flags & FlagsIopl) >> 12);

    /// <summary>True in protected mode when CPL > IOPL (CLI/STI fault, port I/O consults the bitmap).</summary>
    private bool AboveIopl => (Cr0 & Cr0PE) != 0 && CurrentPrivilegeLevel > Iopl;

    /// <summary>CLI/STI: #GP(0) in protected mode when CPL > IOPL (no VME/PVI here).</summary>
    private void CheckInterruptFlagAccess()
    {
        if (AboveIopl)
        {
            throw new GuestFault(ExceptionVector.GP, 0);
        }
    }

    /// <summary>
    /// IN/OUT/INS/OUTS: allowed when CPL ≤ IOPL; otherwise every bit of the TSS I/O bitmap for the ports accessed
    /// must be clear (SDM vol. 1, 19.5.2). The bitmap starts at the TSS's I/O map base; the two bytes holding the bits are
    /// read, and any of them beyond the TSS limit (or a TSS too small to have the field) is #GP(0).
    /// </summary>
    private void CheckIoPermission(ushort port, int size)
    {
        if (!AboveIopl)
        {
            return;
        }

        if ((TrSelector & 0xFFFC) == 0 || TrLimit < TssMinimumLimit)
        {
            throw new GuestFault(ExceptionVector.GP, 0);
        }

        uint mapBase = (uint)ReadSystemLinear(TrBase + TssIoMapBase, 2);
        uint byteOffset = mapBase + (uint)(port >> 3);
        if (byteOffset + 1 > TrLimit)
        {
            throw new GuestFault(ExceptionVector.GP, 0);
        }

        uint bits = (uint)ReadSystemLinear(TrBase + byteOffset, 2);
        uint mask = ((1u << size) - 1) << (port & 7);
        if ((bits & mask) != 0)
        {
            throw new GuestFault(ExceptionVector.GP, 0);
        }
    }

    /// <summary>
    /// The RFLAGS bits POPF and IRET may change (SDM POPF): all of <see cref="RFlags.Writable"/> in real mode and at
    /// CPL 0; IOPL only at CPL 0; IF only when CPL ≤ IOPL. Bits that may not change keep their value, without a fault.
    /// </summary>
    private ulong FlagsWritableByPop()
    {
        ulong writable = RFlags.Writable;
        if ((Cr0 & Cr0PE) == 0)
        {
            return writable;
        }

        int cpl = CurrentPrivilegeLevel;
        if (cpl > 0)
        {
            writable &= ~FlagsIopl;
        }

        if (cpl > Iopl)
        {
            writable &= ~RFlags.IF;
        }

        return writable;
    }

    /// <summary>
    /// The code segment a far JMP/CALL may enter in protected mode: a code segment (no call gates or task switches here)
    /// that keeps CPL: non-conforming with RPL ≤ CPL and DPL = CPL, or conforming with DPL ≤ CPL; else #GP(selector),
    /// and #NP(selector) when not present. Returns the selector with RPL set to CPL, as hardware loads it.
    /// </summary>
    private ushort CheckFarCodeSegment(ushort selector)
    {
        if ((selector & 0xFFFC) == 0)
        {
            throw new GuestFault(ExceptionVector.GP, 0);
        }

        ulong descriptor = ReadDescriptor(selector);
        int cpl = CurrentPrivilegeLevel;
        int dpl = (int)(descriptor >> 45) & 3;
        bool isCode = (descriptor & DescriptorSegment) != 0 && (descriptor & DescriptorCode) != 0;
        bool conforming = (descriptor & DescriptorConforming) != 0;
        bool allowed = isCode && (conforming ? dpl <= cpl : (selector & 3) <= cpl && dpl == cpl);
        if (!allowed)
        {
            throw new GuestFault(ExceptionVector.GP, (uint)(selector & 0xFFFC));
        }

        if ((descriptor & DescriptorPresent) == 0)
        {
            throw new GuestFault(ExceptionVector.NP, (uint)(selector & 0xFFFC));
        }

        return (ushort)((selector & 0xFFFC) | cpl);
    }

    /// <summary>
    /// The code segment IRET or RETF may return to (SDM IRET/RET): RPL ≥ CPL; non-conforming needs DPL = RPL, conforming
    /// DPL ≤ RPL; else #GP(selector); #NP(selector) when not present.
    /// </summary>
    private void CheckReturnCodeSegment(ushort selector)
    {
        if ((selector & 0xFFFC) == 0)
        {
            throw new GuestFault(ExceptionVector.GP, 0);
        }

        ulong descriptor = ReadDescriptor(selector);
        int rpl = selector & 3;
        int dpl = (int)(descriptor >> 45) & 3;
        bool isCode = (descriptor & DescriptorSegment) != 0 && (descriptor & DescriptorCode) != 0;
        bool conforming = (descriptor & DescriptorConforming) != 0;
        bool allowed = isCode && rpl >= CurrentPrivilegeLevel && (conforming ? dpl <= rpl : dpl == rpl);
        if (!allowed)
        {
            throw new GuestFault(ExceptionVector.GP, (uint)(selector & 0xFFFC));
        }

        if ((descriptor & DescriptorPresent) == 0)
        {
            throw new GuestFault(ExceptionVector.NP, (uint)(selector & 0xFFFC));
        }
    }

    /// <summary>
    /// After a return to an outer privilege level: ES, DS, FS and GS holding a data or non-conforming code segment whose
    /// DPL is below the new CPL become null, so user code keeps no kernel segment (SDM IRET/RET). Null selectors (the
    /// 64-bit kernel's FS/GS, whose bases come from MSRs) are left alone.
    /// </summary>
    private void NullInaccessibleDataSegments()
    {
        int cpl = CurrentPrivilegeLevel;
        foreach (int s in (ReadOnlySpan<int>)[ES, DS, FS, GS])
        {
            ref Segment segment = ref Seg[s];
            // Access byte bit 3: code; bit 2: conforming.
            const uint codeAndConforming = 0xC;
            bool conformingCode = (segment.Attributes & codeAndConforming) == codeAndConforming;
            if ((segment.Selector & 0xFFFC) != 0 && !conformingCode && segment.DescriptorPrivilegeLevel < cpl)
            {
                segment.Selector = 0;
                segment.Attributes = 0;
            }
        }
    }

    /// <summary>
    /// RETF (protected mode): to the same level, or to an outer level popping SS:(E/R)SP from the stack as well, then
    /// releasing the immediate from the new stack too. State is restored when a check faults.
    /// </summary>
    private void ExecuteFarReturn(int size, ushort release)
    {
        var savedCs = Seg[CS];
        var savedSs = Seg[SS];
        ulong savedRsp = Gpr[RSP];
        try
        {
            ulong target = Pop(size);
            ushort selector = (ushort)Pop(size);
            CheckReturnCodeSegment(selector);
            bool outer = (selector & 3) > CurrentPrivilegeLevel;
            AdjustStack(release);
            if (!outer)
            {
                LoadSegment(CS, selector);
                Rip = target & SizeMask[size];
                return;
            }

            ulong rsp = Pop(size);
            ushort ss = (ushort)Pop(size);
            LoadSegment(CS, selector);
            LoadSegment(SS, ss);
            Gpr[RSP] = _bitness == 64 ? rsp : (Gpr[RSP] & ~_spMask) | (rsp & _spMask);
            AdjustStack(release);
            NullInaccessibleDataSegments();
            Rip = target & SizeMask[size];
        }
        catch (GuestFault)
        {
            Seg[CS] = savedCs;
            Seg[SS] = savedSs;
            Gpr[RSP] = savedRsp;
            UpdateMode();
            throw;
        }
    }
}
