using ActorVmm.Emulator.Cpu;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.Emulator.Tests.Instructions;

/// <summary>The x87 control subset, FXSAVE/FXRSTOR, MXCSR and the SSE/SSE2 moves and logic (docs/emulator.md).</summary>
public sealed class FpuAndSseTests : IDisposable
{
    private const ulong Low = 0x0123_4567_89AB_CDEF;
    private const ulong High = 0xFEDC_BA98_7654_3210;
    private const ulong OtherLow = 0x0F0F_0F0F_F0F0_F0F0;
    private const ulong OtherHigh = 0x3333_CCCC_5555_AAAA;
    private const uint RoundTowardZero = X86Core.MxcsrInit | (3u << 13);
    private const uint DenormalsAreZero = 1u << 6;
    private const int FxsaveMxcsr = 24;
    private const int FxsaveMxcsrMask = 28;
    private const int FxsaveXmm = 160;

    private readonly CoreFixture _cpu = new();

    public FpuAndSseTests()
    {
        _cpu.Core.Cr4 |= X86Core.Cr4OSFXSR | X86Core.Cr4OSXMMEXCPT;
        _cpu.Core.Gpr[X86Core.RBX] = CoreFixture.DataAddress;
    }

    [Fact]
    public void Fninit_sets_the_default_control_word_which_fnstcw_and_fnstsw_store()
    {
        _cpu.Load(a =>
        {
            a.fninit();
            a.fnstcw(__word_ptr[rbx]);
            a.fnstsw(ax);
        });
        _cpu.Core.Gpr[X86Core.RAX] = ulong.MaxValue;

        _cpu.Step(3);

        Assert.Equal(X86Core.FcwInit, _cpu.Vm.Memory.Read<ushort>(CoreFixture.DataAddress));
        Assert.Equal(0xFFFF_FFFF_FFFF_0000UL, _cpu.Core.Gpr[X86Core.RAX]);
    }

    [Fact]
    public void An_x87_instruction_with_cr0_ts_set_raises_device_not_available()
    {
        _cpu.Core.Cr0 |= X86Core.Cr0TS;
        _cpu.Load(a => a.fninit());

        var fault = Assert.Throws<GuestFault>(() => _cpu.Step());

        Assert.Equal(ExceptionVector.NM, fault.Vector);
    }

    [Fact]
    public void An_sse_instruction_without_cr4_osfxsr_is_an_invalid_opcode()
    {
        _cpu.Core.Cr4 &= ~X86Core.Cr4OSFXSR;
        _cpu.Load(a => a.movdqa(xmm0, xmm1));

        var fault = Assert.Throws<GuestFault>(() => _cpu.Step());

        Assert.Equal(ExceptionVector.UD, fault.Vector);
    }

    [Fact]
    public void Movdqu_stores_and_movdqa_loads_all_128_bits()
    {
        SetXmm(1, Low, High);
        _cpu.Load(a =>
        {
            a.movdqu(__xmmword_ptr[rbx + 1], xmm1);
            a.movdqu(xmm2, __xmmword_ptr[rbx + 1]);
            a.movdqa(xmm3, xmm2);
        });

        _cpu.Step(3);

        Assert.Equal(Low, _cpu.Vm.Memory.Read<ulong>(CoreFixture.DataAddress + 1));
        Assert.Equal(High, _cpu.Vm.Memory.Read<ulong>(CoreFixture.DataAddress + 9));
        Assert.Equal((Low, High), Xmm(3));
    }

    [Fact]
    public void An_aligned_move_from_a_misaligned_address_raises_general_protection()
    {
        _cpu.Load(a => a.movaps(xmm0, __xmmword_ptr[rbx + 8]));

        var fault = Assert.Throws<GuestFault>(() => _cpu.Step());

        Assert.Equal(ExceptionVector.GP, fault.Vector);
    }

    [Fact]
    public void Pxor_por_pand_and_pandn_combine_both_quadwords()
    {
        SetXmm(0, Low, High);
        SetXmm(1, Low, High);
        SetXmm(2, Low, High);
        SetXmm(3, Low, High);
        SetXmm(7, OtherLow, OtherHigh);
        _cpu.Load(a =>
        {
            a.pxor(xmm0, xmm7);
            a.por(xmm1, xmm7);
            a.pand(xmm2, xmm7);
            a.pandn(xmm3, xmm7);
        });

        _cpu.Step(4);

        Assert.Equal((Low ^ OtherLow, High ^ OtherHigh), Xmm(0));
        Assert.Equal((Low | OtherLow, High | OtherHigh), Xmm(1));
        Assert.Equal((Low & OtherLow, High & OtherHigh), Xmm(2));
        Assert.Equal((~Low & OtherLow, ~High & OtherHigh), Xmm(3));
    }

    [Fact]
    public void Movd_and_movq_into_xmm_zero_the_rest_of_the_register_and_back_to_a_gpr()
    {
        SetXmm(4, ulong.MaxValue, ulong.MaxValue);
        SetXmm(5, ulong.MaxValue, ulong.MaxValue);
        _cpu.Core.Gpr[X86Core.RCX] = Low;
        _cpu.Load(a =>
        {
            a.movd(xmm4, ecx);
            a.movq(xmm5, rcx);
            a.movq(rdx, xmm5);
        });

        _cpu.Step(3);

        Assert.Equal((Low & 0xFFFF_FFFF, 0UL), Xmm(4));
        Assert.Equal((Low, 0UL), Xmm(5));
        Assert.Equal(Low, _cpu.Core.Gpr[X86Core.RDX]);
    }

    [Fact]
    public void Fxsave64_then_fxrstor64_brings_back_the_xmm_registers_and_mxcsr()
    {
        SetXmm(0, Low, High);
        SetXmm(15, OtherLow, OtherHigh);
        _cpu.Core.Mxcsr = RoundTowardZero;
        _cpu.Load(a =>
        {
            a.fxsave64(__[rbx]);
            a.pxor(xmm0, xmm0);
            a.pxor(xmm15, xmm15);
            a.fxrstor64(__[rbx]);
        });

        _cpu.Step(2);
        var memory = _cpu.Vm.Memory;
        Assert.Equal(RoundTowardZero, memory.Read<uint>(CoreFixture.DataAddress + FxsaveMxcsr));
        Assert.Equal(X86Core.MxcsrMask, memory.Read<uint>(CoreFixture.DataAddress + FxsaveMxcsrMask));
        Assert.Equal(Low, memory.Read<ulong>(CoreFixture.DataAddress + FxsaveXmm));
        Assert.Equal(OtherHigh, memory.Read<ulong>(CoreFixture.DataAddress + FxsaveXmm + (15 * 16) + 8));
        Assert.Equal((0UL, 0UL), Xmm(0));
        _cpu.Core.Mxcsr = X86Core.MxcsrInit;

        _cpu.Step(2);

        Assert.Equal((Low, High), Xmm(0));
        Assert.Equal((OtherLow, OtherHigh), Xmm(15));
        Assert.Equal(RoundTowardZero, _cpu.Core.Mxcsr);
    }

    [Fact]
    public void Fxsave_to_a_misaligned_area_raises_general_protection()
    {
        _cpu.Core.Gpr[X86Core.RBX] = CoreFixture.DataAddress + 8;
        _cpu.Load(a => a.fxsave64(__[rbx]));

        var fault = Assert.Throws<GuestFault>(() => _cpu.Step());

        Assert.Equal(ExceptionVector.GP, fault.Vector);
    }

    [Fact]
    public void Ldmxcsr_with_a_bit_outside_the_mask_raises_general_protection_and_keeps_mxcsr()
    {
        _cpu.Vm.Memory.Write(CoreFixture.DataAddress, X86Core.MxcsrInit | DenormalsAreZero);
        _cpu.Load(a => a.ldmxcsr(__dword_ptr[rbx]));

        var fault = Assert.Throws<GuestFault>(() => _cpu.Step());

        Assert.Equal(ExceptionVector.GP, fault.Vector);
        Assert.Equal(X86Core.MxcsrInit, _cpu.Core.Mxcsr);
    }

    [Fact]
    public void Ldmxcsr_and_stmxcsr_move_the_control_register()
    {
        _cpu.Vm.Memory.Write(CoreFixture.DataAddress, RoundTowardZero);
        _cpu.Load(a =>
        {
            a.ldmxcsr(__dword_ptr[rbx]);
            a.stmxcsr(__dword_ptr[rbx + 4]);
        });

        _cpu.Step(2);

        Assert.Equal(RoundTowardZero, _cpu.Vm.Memory.Read<uint>(CoreFixture.DataAddress + 4));
    }

    [Fact]
    public void An_x87_transcendental_stops_the_emulator_naming_the_instruction()
    {
        _cpu.Load(a =>
        {
            a.fninit();
            a.fldz();
            a.fsin();
        });
        _cpu.Step(2);

        var error = Assert.Throws<EmulationException>(() => _cpu.Step());

        Assert.Contains("fsin", error.Message, StringComparison.Ordinal);
    }

    private void SetXmm(int register, ulong low, ulong high)
    {
        _cpu.Core.Xmm[2 * register] = low;
        _cpu.Core.Xmm[(2 * register) + 1] = high;
    }

    private (ulong Low, ulong High) Xmm(int register) => (_cpu.Core.Xmm[2 * register], _cpu.Core.Xmm[(2 * register) + 1]);

    public void Dispose() => _cpu.Dispose();
}
