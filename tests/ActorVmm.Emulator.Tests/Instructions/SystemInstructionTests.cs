using ActorVmm.Emulator.Cpu;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.Emulator.Tests.Instructions;

/// <summary>CPUID's advertised set, CMPXCHG8B, debug registers and TZCNT on a core without BMI1.</summary>
public sealed class SystemInstructionTests : IDisposable
{
    private const ulong Stored = 0x1111_2222_3333_4444;
    private const ulong Replacement = 0x5555_6666_7777_8888;
    private const byte DebugRegisterBreakpointEnable = 0x1;

    // MOV DR7, RAX; MOV RAX, DR6; MOV RAX, DR7 (Iced's assembler has no debug-register operands).
    private static readonly byte[] MovDr7FromRax = [0x0F, 0x23, 0xF8];
    private static readonly byte[] MovRaxFromDr6 = [0x0F, 0x21, 0xF0];
    private static readonly byte[] MovRaxFromDr7 = [0x0F, 0x21, 0xF8];

    private readonly CoreFixture _cpu = new();

    [Fact]
    public void Cpuid_leaf_1_advertises_exactly_the_documented_feature_set()
    {
        _cpu.Core.Gpr[X86Core.RAX] = 1;
        _cpu.Load(a => a.cpuid());

        _cpu.Step();

        Assert.Equal(X86Core.CpuidSignature, (uint)_cpu.Core.Gpr[X86Core.RAX]);
        Assert.Equal(X86Core.CpuidLeaf1Edx, (uint)_cpu.Core.Gpr[X86Core.RDX]);
        Assert.Equal(X86Core.CpuidLeaf1Ecx, (uint)_cpu.Core.Gpr[X86Core.RCX]);
        Assert.Equal(X86Core.CpuidFpu | X86Core.CpuidFxsr | X86Core.CpuidSse | X86Core.CpuidSse2 | X86Core.CpuidCx8,
            X86Core.CpuidLeaf1Edx & (X86Core.CpuidFpu | X86Core.CpuidFxsr | X86Core.CpuidSse | X86Core.CpuidSse2 | X86Core.CpuidCx8));
    }

    [Theory]
    [InlineData(0u, X86Core.CpuidMaxBasicLeaf)]
    [InlineData(0x8000_0000u, X86Core.CpuidMaxExtendedLeaf)]
    public void Cpuid_reports_its_highest_leaves(uint leaf, uint highest)
    {
        _cpu.Core.Gpr[X86Core.RAX] = leaf;
        _cpu.Load(a => a.cpuid());

        _cpu.Step();

        Assert.Equal(highest, (uint)_cpu.Core.Gpr[X86Core.RAX]);
    }

    [Theory]
    [InlineData(X86Core.CpuidMaxBasicLeaf + 1)]
    [InlineData(X86Core.CpuidKvmFeatures + 1)]
    [InlineData(X86Core.CpuidMaxExtendedLeaf + 1)]
    public void Cpuid_leaves_above_the_highest_read_as_zero(uint leaf)
    {
        _cpu.Core.Gpr[X86Core.RAX] = leaf;
        _cpu.Core.Gpr[X86Core.RBX] = ulong.MaxValue;
        _cpu.Core.Gpr[X86Core.RCX] = ulong.MaxValue;
        _cpu.Core.Gpr[X86Core.RDX] = ulong.MaxValue;
        _cpu.Load(a => a.cpuid());

        _cpu.Step();

        Assert.All([X86Core.RAX, X86Core.RBX, X86Core.RCX, X86Core.RDX], r => Assert.Equal(0UL, _cpu.Core.Gpr[r]));
    }

    [Fact]
    public void Cmpxchg8b_stores_ecx_ebx_and_sets_zf_when_memory_matches_edx_eax()
    {
        _cpu.Vm.Memory.Write(CoreFixture.DataAddress, Stored);
        SetPair(X86Core.RDX, X86Core.RAX, Stored);
        SetPair(X86Core.RCX, X86Core.RBX, Replacement);
        _cpu.Core.Gpr[X86Core.RSI] = CoreFixture.DataAddress;
        _cpu.Load(a => a.@lock.cmpxchg8b(__qword_ptr[rsi]));

        _cpu.Step();

        Assert.Equal(Replacement, _cpu.Vm.Memory.Read<ulong>(CoreFixture.DataAddress));
        Assert.NotEqual(0UL, _cpu.Core.Flags & RFlags.ZF);
    }

    [Fact]
    public void Cmpxchg8b_loads_memory_into_edx_eax_and_clears_zf_when_it_differs()
    {
        _cpu.Vm.Memory.Write(CoreFixture.DataAddress, Stored);
        SetPair(X86Core.RDX, X86Core.RAX, Replacement);
        SetPair(X86Core.RCX, X86Core.RBX, Replacement);
        _cpu.Core.Flags |= RFlags.ZF;
        _cpu.Core.Gpr[X86Core.RSI] = CoreFixture.DataAddress;
        _cpu.Load(a => a.cmpxchg8b(__qword_ptr[rsi]));

        _cpu.Step();

        Assert.Equal(Stored, _cpu.Vm.Memory.Read<ulong>(CoreFixture.DataAddress));
        Assert.Equal(Stored & 0xFFFF_FFFF, _cpu.Core.Gpr[X86Core.RAX]);
        Assert.Equal(Stored >> 32, _cpu.Core.Gpr[X86Core.RDX]);
        Assert.Equal(0UL, _cpu.Core.Flags & RFlags.ZF);
    }

    [Fact]
    public void Debug_registers_read_their_fixed_bits_and_dr7_takes_a_value_without_breakpoints()
    {
        _cpu.Core.Gpr[X86Core.RAX] = 0;
        _cpu.Load(a =>
        {
            a.db(MovDr7FromRax);
            a.db(MovRaxFromDr6);
            a.mov(rcx, rax);
            a.db(MovRaxFromDr7);
        });

        _cpu.Step(4);

        Assert.Equal(X86Core.Dr6Fixed, _cpu.Core.Gpr[X86Core.RCX]);
        Assert.Equal(X86Core.Dr7Fixed, _cpu.Core.Gpr[X86Core.RAX]);
    }

    [Fact]
    public void Enabling_a_hardware_breakpoint_stops_the_emulator_with_a_diagnostic()
    {
        _cpu.Core.Gpr[X86Core.RAX] = DebugRegisterBreakpointEnable;
        _cpu.Load(a => a.db(MovDr7FromRax));

        var error = Assert.Throws<EmulationException>(() => _cpu.Step());

        Assert.Contains("breakpoints", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tzcnt_behaves_as_bsf_because_bmi1_is_not_advertised()
    {
        const ulong source = 0b1000;
        const ulong untouched = 0x77;
        _cpu.Core.Gpr[X86Core.RCX] = source;
        _cpu.Core.Gpr[X86Core.RDX] = 0;
        _cpu.Core.Gpr[X86Core.RAX] = untouched;
        _cpu.Load(a =>
        {
            a.tzcnt(rcx, rcx);
            a.tzcnt(rax, rdx);
        });

        _cpu.Step();
        Assert.Equal(3UL, _cpu.Core.Gpr[X86Core.RCX]);

        _cpu.Step();
        Assert.Equal(untouched, _cpu.Core.Gpr[X86Core.RAX]);
        Assert.NotEqual(0UL, _cpu.Core.Flags & RFlags.ZF);
    }

    [Fact]
    public void Endbr64_is_a_nop_because_cet_is_not_advertised()
    {
        const ulong value = 0x1234;
        _cpu.Load(a =>
        {
            a.endbr64();
            a.mov(rax, value);
        });

        _cpu.Step(2);

        Assert.Equal(value, _cpu.Core.Gpr[X86Core.RAX]);
    }

    private void SetPair(int high, int low, ulong value)
    {
        _cpu.Core.Gpr[high] = value >> 32;
        _cpu.Core.Gpr[low] = value & 0xFFFF_FFFF;
    }

    public void Dispose() => _cpu.Dispose();
}
