using ActorVmm.Machine.Vcpu;

namespace ActorVmm.Emulator.Cpu;

/// <summary>Interrupt and exception delivery through the IVT (real mode) or IDT (protected and long mode), and IRET.</summary>
internal sealed partial class X86Core
{
    private const uint GateInterrupt32 = 0xE;
    private const uint GateTrap32 = 0xF;
    private const uint GateInterrupt16 = 0x6;
    private const uint GateTrap16 = 0x7;

    /// <summary>
    /// Delivers a vector with the frame the current mode uses. Faults during delivery propagate. In protected mode a
    /// software interrupt (INT n, INT3, INTO) needs a gate DPL ≥ CPL, else #GP(vector * 8 + 2) (SDM vol. 3, 6.12.1.1),
    /// and no interrupt may go to a less privileged code segment (#GP(selector)).
    /// </summary>
    private void DeliverInterrupt(byte vector, uint? errorCode, bool software)
    {
        if ((Cr0 & Cr0PE) == 0)
        {
            ulong entry = IdtBase + (ulong)vector * 4;
            if ((ulong)vector * 4 + 3 > IdtLimit)
            {
                throw new GuestFault(ExceptionVector.GP, 0);
            }

            ushort ip = (ushort)ReadLinear(entry, 2);
            ushort cs = (ushort)ReadLinear(entry + 2, 2);
            Push(Flags & 0xFFFF, 2);
            Push(Seg[CS].Selector, 2);
            Push(Rip & 0xFFFF, 2);
            Flags &= ~(RFlags.IF | RFlags.TF | RFlags.AC | RFlags.RF);
            LoadSegment(CS, cs);
            Rip = ip;
            return;
        }

        uint gateError = ((uint)vector * 8) + 2;
        if ((Efer & EferLMA) != 0)
        {
            if ((ulong)vector * 16 + 15 > IdtLimit)
            {
                throw new GuestFault(ExceptionVector.GP, gateError);
            }

            ulong low = ReadSystemLinear(IdtBase + (ulong)vector * 16, 8);
            ulong high = ReadSystemLinear(IdtBase + (ulong)vector * 16 + 8, 8);
            uint type = (uint)(low >> 40) & 0xF;
            if ((low & DescriptorPresent) == 0 || (type != GateInterrupt32 && type != GateTrap32))
            {
                throw new GuestFault(ExceptionVector.GP, gateError);
            }

            CheckGatePrivilege(low, software, gateError);

            ulong offset = (low & 0xFFFF) | ((low >> 32) & 0xFFFF_0000) | ((high & 0xFFFF_FFFF) << 32);
            ushort selector = (ushort)(low >> 16);
            int ist = (int)(low >> 32) & 7;
            ulong oldSs = Seg[SS].Selector;
            ulong oldRsp = Gpr[RSP];
            ulong oldCs = Seg[CS].Selector;
            ulong oldFlags = Flags;
            ulong oldRip = Rip;
            int oldCpl = CurrentPrivilegeLevel;
            int newCpl = EnterHandlerSegment(selector, oldCpl);
            if (ist != 0)
            {
                // The gate names an interrupt stack table slot of the 64-bit TSS.
                Gpr[RSP] = ReadSystemLinear(TrBase + TssIst1 + (ulong)(8 * (ist - 1)), 8);
            }
            else if (newCpl < oldCpl)
            {
                Gpr[RSP] = ReadSystemLinear(TrBase + TssRsp0 + (ulong)(8 * newCpl), 8);
            }

            if (newCpl != oldCpl)
            {
                // A privilege change loads a null SS whose RPL is the new CPL.
                Seg[SS] = new Segment { Selector = (ushort)newCpl };
            }

            // 64-bit delivery aligns the stack and always pushes SS:RSP.
            Gpr[RSP] &= ~0xFUL;
            Push(oldSs, 8);
            Push(oldRsp, 8);
            Push(oldFlags, 8);
            Push(oldCs, 8);
            Push(oldRip, 8);
            if (errorCode is { } code)
            {
                Push(code, 8);
            }

            Flags &= ~(RFlags.TF | RFlags.NT | RFlags.RF | (type == GateInterrupt32 ? RFlags.IF : 0));
            Rip = offset;
            return;
        }

        if ((ulong)vector * 8 + 7 > IdtLimit)
        {
            throw new GuestFault(ExceptionVector.GP, gateError);
        }

        ulong gate = ReadSystemLinear(IdtBase + (ulong)vector * 8, 8);
        uint gateType = (uint)(gate >> 40) & 0xF;
        if ((gate & DescriptorPresent) == 0 || gateType is not (GateInterrupt32 or GateTrap32 or GateInterrupt16 or GateTrap16))
        {
            throw new GuestFault(ExceptionVector.GP, gateError);
        }

        CheckGatePrivilege(gate, software, gateError);
        int size = gateType is GateInterrupt32 or GateTrap32 ? 4 : 2;
        ulong target = (gate & 0xFFFF) | (size == 4 ? (gate >> 32) & 0xFFFF_0000 : 0);
        ulong savedCs = Seg[CS].Selector;
        ulong savedFlags = Flags;
        ulong savedRip = Rip;
        ulong savedSs = Seg[SS].Selector;
        ulong savedSp = Gpr[RSP] & _spMask;
        int fromCpl = CurrentPrivilegeLevel;
        int toCpl = EnterHandlerSegment((ushort)(gate >> 16), fromCpl);
        if (toCpl < fromCpl)
        {
            // Inner-level entry: SS:ESP for the new CPL from the 32-bit TSS, then the old SS:ESP on the new stack.
            ulong esp = ReadSystemLinear(TrBase + TssEsp0 + (ulong)(8 * toCpl), 4);
            ushort ss = (ushort)ReadSystemLinear(TrBase + TssSs0 + (ulong)(8 * toCpl), 2);
            LoadSegment(SS, ss);
            Gpr[RSP] = (Gpr[RSP] & ~_spMask) | (esp & _spMask);
            Push(savedSs, size);
            Push(savedSp, size);
        }

        Push(savedFlags & SizeMask[size], size);
        Push(savedCs, size);
        Push(savedRip & SizeMask[size], size);
        if (errorCode is { } error)
        {
            Push(error, size);
        }

        bool interruptGate = gateType is GateInterrupt32 or GateInterrupt16;
        Flags &= ~(RFlags.TF | RFlags.NT | RFlags.RF | (interruptGate ? RFlags.IF : 0));
        Rip = target;
    }

    /// <summary>Software interrupts may only use gates whose DPL is at least CPL (so user code cannot fake a fault).</summary>
    private void CheckGatePrivilege(ulong gate, bool software, uint gateError)
    {
        int gateDpl = (int)(gate >> 45) & 3;
        if (software && gateDpl < CurrentPrivilegeLevel)
        {
            throw new GuestFault(ExceptionVector.GP, gateError);
        }
    }

    /// <summary>
    /// Loads the handler's code segment: a non-conforming segment runs the handler at its DPL, a conforming one at the
    /// current CPL; a DPL above CPL would be an outward transfer, #GP(selector). CS.RPL becomes the new CPL.
    /// </summary>
    private int EnterHandlerSegment(ushort selector, int oldCpl)
    {
        LoadSegment(CS, selector);
        bool conforming = (Seg[CS].Attributes & 0x4) != 0;
        int newCpl = conforming ? oldCpl : Seg[CS].DescriptorPrivilegeLevel;
        if (Seg[CS].DescriptorPrivilegeLevel > oldCpl)
        {
            throw new GuestFault(ExceptionVector.GP, (uint)(selector & 0xFFFC));
        }

        Seg[CS].Selector = (ushort)((selector & ~3) | newCpl);
        UpdateMode();
        return newCpl;
    }

    /// <summary>Delivers a fault; a fault while delivering becomes #DF, and one during #DF a triple fault (a reset).</summary>
    private void DeliverException(GuestFault fault)
    {
        _budget = 0;
        bool protectedMode = (Cr0 & Cr0PE) != 0;
        if (!protectedMode && ReadIvtEntry(fault.Vector) == 0)
        {
            // No BIOS here: an empty IVT slot means the guest has no handler, so report instead of jumping to 0:0.
            _pendingExit = new VcpuExit(
                VcpuExitReason.InternalError,
                $"Unhandled x86 exception {fault.Vector} in real mode (no IVT handler)",
                CaptureDiagnostics());
            return;
        }

        uint? error = protectedMode && ExceptionVector.HasErrorCode(fault.Vector) ? fault.ErrorCode ?? 0 : null;
        var cs = Seg[CS];
        var ss = Seg[SS];
        ulong rsp = Gpr[RSP];
        try
        {
            DeliverInterrupt(fault.Vector, error, software: false);
            return;
        }
        catch (GuestFault)
        {
            Seg[CS] = cs;
            Seg[SS] = ss;
            Gpr[RSP] = rsp;
            UpdateMode();
        }

        if (fault.Vector != ExceptionVector.DF)
        {
            try
            {
                DeliverInterrupt(ExceptionVector.DF, protectedMode ? 0 : null, software: false);
                return;
            }
            catch (GuestFault)
            {
                Seg[CS] = cs;
                Seg[SS] = ss;
                Gpr[RSP] = rsp;
                UpdateMode();
            }
        }

        // A PC resets on a triple fault (the chipset turns the shutdown cycle into a reset), as KVM_EXIT_SHUTDOWN is read.
        _pendingExit = new VcpuExit(
            VcpuExitReason.Reset,
            $"Triple fault (exception {fault.Vector} could not be delivered)",
            CaptureDiagnostics());
    }

    private ulong ReadIvtEntry(byte vector)
    {
        try
        {
            return ReadLinear(IdtBase + (ulong)vector * 4, 4);
        }
        catch (GuestFault)
        {
            return 0;
        }
    }

    private void ExecuteIret(int size)
    {
        // IRET ends NMI blocking (SDM 6.7.1), even when it faults later.
        _nmiBlocked = false;
        if ((Cr0 & Cr0PE) == 0)
        {
            ulong ip = Pop(2);
            ushort cs = (ushort)Pop(2);
            ulong flags = Pop(2);
            LoadSegment(CS, cs);
            Rip = ip;
            Flags = (Flags & ~(RFlags.Writable & 0xFFFF)) | (flags & RFlags.Writable & 0xFFFF) | RFlags.Reserved1;
            return;
        }

        var savedCs = Seg[CS];
        var savedSs = Seg[SS];
        ulong savedRsp = Gpr[RSP];
        try
        {
            ReturnFromInterrupt(size);
        }
        catch (GuestFault)
        {
            // IRET checks everything before it changes state: a refused return leaves CS, SS and RSP as they were.
            Seg[CS] = savedCs;
            Seg[SS] = savedSs;
            Gpr[RSP] = savedRsp;
            UpdateMode();
            throw;
        }
    }

    /// <summary>
    /// Protected/long-mode IRET (SDM IRET): the return CS must pass <see cref="CheckReturnCodeSegment"/>; 64-bit mode
    /// always pops SS:RSP, other modes only for a return to an outer level; the flags change as POPF allows at the old
    /// CPL and IOPL; an outer return nulls data segments the new CPL may not use.
    /// </summary>
    private void ReturnFromInterrupt(int size)
    {
        ulong rip = Pop(size);
        ushort selector = (ushort)Pop(size);
        ulong rflags = Pop(size);
        CheckReturnCodeSegment(selector);
        bool outer = (selector & 3) > CurrentPrivilegeLevel;
        bool popStack = _bitness == 64 || outer;
        ulong rsp = 0;
        ushort ss = 0;
        if (popStack)
        {
            rsp = Pop(size);
            ss = (ushort)Pop(size);
        }

        ulong writable = FlagsWritableByPop() & SizeMask[size];
        bool fromLongMode = _bitness == 64;
        LoadSegment(CS, selector);
        if (popStack)
        {
            LoadSegment(SS, ss);
            Gpr[RSP] = fromLongMode ? rsp : (Gpr[RSP] & ~_spMask) | (rsp & _spMask);
        }

        if (outer)
        {
            NullInaccessibleDataSegments();
        }

        Flags = (Flags & ~writable) | (rflags & writable) | RFlags.Reserved1;
        Rip = rip & SizeMask[size];
        UpdateMode();
    }
}
