using ActorVmm.Machine.Vcpu;

namespace ActorVmm.Emulator.Cpu;

/// <summary>Interrupt and exception delivery through the IVT (real mode) or IDT (protected and long mode), and IRET.</summary>
internal sealed partial class X86Core
{
    private const uint GateInterrupt32 = 0xE;
    private const uint GateTrap32 = 0xF;
    private const uint GateInterrupt16 = 0x6;
    private const uint GateTrap16 = 0x7;

    /// <summary>Delivers a vector with the frame the current mode uses. Faults during delivery propagate.</summary>
    private void DeliverInterrupt(byte vector, uint? errorCode, bool software)
    {
        _ = software;
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

            ulong low = ReadLinear(IdtBase + (ulong)vector * 16, 8);
            ulong high = ReadLinear(IdtBase + (ulong)vector * 16 + 8, 8);
            uint type = (uint)(low >> 40) & 0xF;
            if ((low & DescriptorPresent) == 0 || (type != GateInterrupt32 && type != GateTrap32))
            {
                throw new GuestFault(ExceptionVector.GP, gateError);
            }

            ulong offset = (low & 0xFFFF) | ((low >> 32) & 0xFFFF_0000) | ((high & 0xFFFF_FFFF) << 32);
            ushort selector = (ushort)(low >> 16);
            int ist = (int)(low >> 32) & 7;
            ulong oldSs = Seg[SS].Selector;
            ulong oldRsp = Gpr[RSP];
            ulong oldCs = Seg[CS].Selector;
            ulong oldFlags = Flags;
            ulong oldRip = Rip;
            int oldCpl = CurrentPrivilegeLevel;
            LoadSegment(CS, selector);
            int newCpl = Seg[CS].DescriptorPrivilegeLevel;
            Seg[CS].Selector = (ushort)((selector & ~3) | newCpl);
            if (ist != 0)
            {
                // The gate names an interrupt stack table slot of the 64-bit TSS.
                Gpr[RSP] = ReadLinear(TrBase + TssIst1 + (ulong)(8 * (ist - 1)), 8);
            }
            else if (newCpl < oldCpl)
            {
                Gpr[RSP] = ReadLinear(TrBase + TssRsp0 + (ulong)(8 * newCpl), 8);
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

        ulong gate = ReadLinear(IdtBase + (ulong)vector * 8, 8);
        uint gateType = (uint)(gate >> 40) & 0xF;
        if ((gate & DescriptorPresent) == 0 || gateType is not (GateInterrupt32 or GateTrap32 or GateInterrupt16 or GateTrap16))
        {
            throw new GuestFault(ExceptionVector.GP, gateError);
        }

        int size = gateType is GateInterrupt32 or GateTrap32 ? 4 : 2;
        ulong target = (gate & 0xFFFF) | (size == 4 ? (gate >> 32) & 0xFFFF_0000 : 0);
        ulong savedCs = Seg[CS].Selector;
        ulong savedFlags = Flags;
        ulong savedRip = Rip;
        LoadSegment(CS, (ushort)(gate >> 16));
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

        ulong rip = Pop(size);
        ushort selector = (ushort)Pop(size);
        ulong rflags = Pop(size);
        bool longMode = _bitness == 64;
        ulong rsp = 0;
        ushort ss = 0;
        if (longMode)
        {
            rsp = Pop(size);
            ss = (ushort)Pop(size);
        }

        LoadSegment(CS, selector);
        if (longMode)
        {
            if ((ss & 0xFFFC) != 0)
            {
                LoadSegment(SS, ss);
            }
            else
            {
                Seg[SS] = new Segment { Selector = ss };
            }

            Gpr[RSP] = rsp;
        }

        ulong writable = RFlags.Writable & SizeMask[size];
        Flags = (Flags & ~writable) | (rflags & writable) | RFlags.Reserved1;
        Rip = rip & SizeMask[size];
        UpdateMode();
    }
}
