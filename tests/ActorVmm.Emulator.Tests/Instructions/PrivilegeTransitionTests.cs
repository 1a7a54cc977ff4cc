using ActorVmm.Emulator.Cpu;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.Emulator.Tests.Instructions;

/// <summary>SYSCALL/SYSRETQ, the TSS stack switch of 64-bit interrupt delivery (RSP0, IST), LTR and VERR/VERW.</summary>
public sealed class PrivilegeTransitionTests : IDisposable
{
    private const uint MsrStar = 0xC000_0081;
    private const uint MsrLstar = 0xC000_0082;
    private const uint MsrFmask = 0xC000_0084;
    private const ushort KernelCode = 0x10;
    private const ushort KernelData = 0x18;
    private const ushort SysretBase = 0x20;
    private const ushort UserData = 0x2B;
    private const ushort UserCode = 0x33;
    private const ushort TssSelector = 0x40;
    private const ulong Star = ((ulong)SysretBase << 48) | ((ulong)KernelCode << 32);
    private const ulong Handler = 0x3000;
    private const ulong GdtAddress = 0x9000;
    private const ulong IdtAddress = 0xA000;
    private const ulong TssAddress = 0xB000;
    private const ulong Rsp0 = 0x6000;
    private const ulong Ist1 = 0x5000;
    private const ulong UserStack = 0x4000;
    private const byte Vector = 0x20;
    private const byte IstVector = 0x21;
    private const int PushedWords = 5;

    // Descriptors: flat 64-bit code (DPL 0 and 3), flat data (DPL 0 and 3), a 64-bit available TSS.
    private const ulong KernelCodeDescriptor = 0x00AF_9B00_0000_FFFF;
    private const ulong KernelDataDescriptor = 0x00CF_9300_0000_FFFF;
    private const ulong UserCodeDescriptor = 0x00AF_FB00_0000_FFFF;
    private const ulong UserDataDescriptor = 0x00CF_F300_0000_FFFF;

    private readonly CoreFixture _cpu = new();

    public PrivilegeTransitionTests()
    {
        var memory = _cpu.Vm.Memory;
        memory.Write(GdtAddress + KernelCode, KernelCodeDescriptor);
        memory.Write(GdtAddress + KernelData, KernelDataDescriptor);
        memory.Write(GdtAddress + UserData - 3, UserDataDescriptor);
        memory.Write(GdtAddress + UserCode - 3, UserCodeDescriptor);
        // 64-bit TSS descriptor: limit 0x67, base split over bytes 2-4 and 7, type 9 (available), present; then base 63:32.
        memory.Write(GdtAddress + TssSelector, 0x0000_8900_0000_0067UL | ((TssAddress & 0xFF_FFFF) << 16) | ((TssAddress >> 24) << 56));
        memory.Write(GdtAddress + TssSelector + 8, 0UL);
        memory.Write(TssAddress + X86Core.TssRsp0, Rsp0);
        memory.Write(TssAddress + X86Core.TssIst1, Ist1);
        WriteGate(Vector, ist: 0);
        WriteGate(IstVector, ist: 1);
        _cpu.Core.GdtBase = GdtAddress;
        _cpu.Core.GdtLimit = 0x4F;
        _cpu.Core.IdtBase = IdtAddress;
        _cpu.Core.IdtLimit = 0xFFF;
        _cpu.Core.Efer |= X86Core.EferSCE;
    }

    [Fact]
    public void Syscall_enters_lstar_at_cpl_0_and_sysretq_returns_to_cpl_3()
    {
        _cpu.Load(a =>
        {
            WriteMsr(a, MsrStar, Star);
            WriteMsr(a, MsrLstar, Handler);
            WriteMsr(a, MsrFmask, RFlags.IF | RFlags.DF);
            a.syscall();
        });
        _cpu.Vm.Memory.Write(Handler, [0x48, 0x0F, 0x07]); // sysretq
        _cpu.Core.Flags |= RFlags.IF | RFlags.DF;
        ulong flagsBefore = _cpu.Core.Flags;
        _cpu.Step(12);
        const ulong syscallLength = 2;
        ulong returnAddress = _cpu.Core.Rip + syscallLength;

        _cpu.Step();

        Assert.Equal(Handler, _cpu.Core.Rip);
        Assert.Equal(returnAddress, _cpu.Core.Gpr[X86Core.RCX]);
        Assert.Equal(flagsBefore, _cpu.Core.Gpr[11]);
        Assert.Equal(0UL, _cpu.Core.Flags & (RFlags.IF | RFlags.DF));
        Assert.Equal(KernelCode, _cpu.Core.Seg[X86Core.CS].Selector);
        Assert.Equal(KernelData, _cpu.Core.Seg[X86Core.SS].Selector);
        Assert.Equal(0, _cpu.Core.CurrentPrivilegeLevel);

        _cpu.Step();

        Assert.Equal(returnAddress, _cpu.Core.Rip);
        Assert.Equal(UserCode, _cpu.Core.Seg[X86Core.CS].Selector);
        Assert.Equal(UserData, _cpu.Core.Seg[X86Core.SS].Selector);
        Assert.Equal(3, _cpu.Core.CurrentPrivilegeLevel);
        Assert.Equal(64, _cpu.Core.Bitness);
        Assert.Equal(flagsBefore & RFlags.Writable, _cpu.Core.Flags & RFlags.Writable);
    }

    [Fact]
    public void Syscall_without_efer_sce_is_an_invalid_opcode()
    {
        _cpu.Core.Efer &= ~X86Core.EferSCE;
        _cpu.Load(a => a.syscall());

        var fault = Assert.Throws<GuestFault>(() => _cpu.Step());

        Assert.Equal(ExceptionVector.UD, fault.Vector);
    }

    [Fact]
    public void An_interrupt_at_cpl_3_switches_to_the_tss_rsp0_and_pushes_the_user_stack()
    {
        _cpu.Core.Gpr[X86Core.RAX] = TssSelector;
        _cpu.Load(a =>
        {
            a.ltr(ax);
            a.@int(Vector);
        });
        _cpu.Step();
        EnterUserMode();
        ulong returnAddress = _cpu.Core.Rip + 2;

        _cpu.Step();

        Assert.Equal(Handler, _cpu.Core.Rip);
        Assert.Equal(0, _cpu.Core.CurrentPrivilegeLevel);
        Assert.Equal(Rsp0 - (PushedWords * 8), _cpu.Core.Gpr[X86Core.RSP]);
        var memory = _cpu.Vm.Memory;
        Assert.Equal(returnAddress, memory.Read<ulong>(Rsp0 - 40));
        Assert.Equal((ulong)UserCode, memory.Read<ulong>(Rsp0 - 32));
        Assert.Equal(UserStack, memory.Read<ulong>(Rsp0 - 16));
        Assert.Equal((ulong)UserData, memory.Read<ulong>(Rsp0 - 8));
    }

    [Fact]
    public void A_gate_with_an_ist_slot_switches_to_that_stack_even_at_cpl_0()
    {
        _cpu.Core.Gpr[X86Core.RAX] = TssSelector;
        _cpu.Core.Gpr[X86Core.RSP] = UserStack;
        _cpu.Load(a =>
        {
            a.ltr(ax);
            a.@int(IstVector);
        });

        _cpu.Step(2);

        Assert.Equal(Handler, _cpu.Core.Rip);
        Assert.Equal(Ist1 - (PushedWords * 8), _cpu.Core.Gpr[X86Core.RSP]);
        Assert.Equal(UserStack, _cpu.Vm.Memory.Read<ulong>(Ist1 - 16));
    }

    [Theory]
    [InlineData(KernelData, true, true)]
    [InlineData(KernelCode, true, false)]
    [InlineData((ushort)0, false, false)]
    [InlineData((ushort)0x1F8, false, false)]
    public void Verr_and_verw_set_zf_only_for_a_segment_that_may_be_read_or_written(ushort selector, bool readable, bool writable)
    {
        _cpu.Core.Gpr[X86Core.RCX] = selector;
        _cpu.Load(a =>
        {
            a.verr(cx);
            a.setz(dl);
            a.verw(cx);
            a.setz(dh);
        });

        _cpu.Step(4);

        Assert.Equal(readable ? 1UL : 0UL, _cpu.Core.Gpr[X86Core.RDX] & 0xFF);
        Assert.Equal(writable ? 1UL : 0UL, (_cpu.Core.Gpr[X86Core.RDX] >> 8) & 0xFF);
    }

    private static void WriteMsr(Iced.Intel.Assembler a, uint msr, ulong value)
    {
        a.mov(ecx, msr);
        a.mov(eax, (uint)value);
        a.mov(edx, (uint)(value >> 32));
        a.wrmsr();
    }

    private void EnterUserMode()
    {
        // CS first: loading SS with RPL 3 needs CPL 3.
        _cpu.Core.LoadSegment(X86Core.CS, UserCode);
        _cpu.Core.LoadSegment(X86Core.SS, UserData);
        _cpu.Core.Gpr[X86Core.RSP] = UserStack;
    }

    /// <summary>A 64-bit interrupt gate (DPL 3) to <see cref="Handler"/> through the kernel code segment.</summary>
    private void WriteGate(byte vector, int ist)
    {
        ulong low = (Handler & 0xFFFF) | ((ulong)KernelCode << 16) | ((ulong)ist << 32) | (0xEEUL << 40) | (((Handler >> 16) & 0xFFFF) << 48);
        _cpu.Vm.Memory.Write(IdtAddress + (ulong)(vector * 16), low);
        _cpu.Vm.Memory.Write(IdtAddress + (ulong)(vector * 16) + 8, Handler >> 32);
    }

    public void Dispose() => _cpu.Dispose();
}
