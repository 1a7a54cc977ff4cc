using ActorVmm.Emulator.Cpu;
using ActorVmm.Machine.Vcpu;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.Emulator.Tests.Instructions;

/// <summary>CMPXCHG16B (SDM CMPXCHG8B/CMPXCHG16B) and the CPUID bits this work advertises (CX16, NX, RDTSCP).</summary>
public sealed class Cmpxchg16bTests : IDisposable
{
    private const ulong OldLow = 0x1111_2222_3333_4444;
    private const ulong OldHigh = 0x5555_6666_7777_8888;
    private const ulong NewLow = 0x9999_AAAA_BBBB_CCCC;
    private const ulong NewHigh = 0xDDDD_EEEE_FFFF_0000;
    private const ulong Other = 0x0123_4567_89AB_CDEF;
    private const uint ExtendedLeaf = 0x8000_0001;

    private readonly CoreFixture _cpu = new();

    [Fact]
    public void Equal_memory_takes_rcx_rbx_and_sets_zf()
    {
        WriteOperand(OldLow, OldHigh);
        SetRegisters(OldLow, OldHigh);
        _cpu.Load(a => a.@lock.cmpxchg16b(__xmmword_ptr[rsi]));

        _cpu.Step();

        Assert.Equal(NewLow, _cpu.Vm.Memory.Read<ulong>(CoreFixture.DataAddress));
        Assert.Equal(NewHigh, _cpu.Vm.Memory.Read<ulong>(CoreFixture.DataAddress + 8));
        Assert.NotEqual(0UL, _cpu.Core.Flags & RFlags.ZF);
    }

    [Theory]
    [InlineData(Other, OldHigh)]
    [InlineData(OldLow, Other)]
    public void A_difference_in_either_half_loads_memory_into_rdx_rax_and_clears_zf(ulong memoryLow, ulong memoryHigh)
    {
        WriteOperand(memoryLow, memoryHigh);
        SetRegisters(OldLow, OldHigh);
        _cpu.Core.Flags |= RFlags.ZF;
        _cpu.Load(a => a.cmpxchg16b(__xmmword_ptr[rsi]));

        _cpu.Step();

        Assert.Equal(memoryLow, _cpu.Core.Gpr[X86Core.RAX]);
        Assert.Equal(memoryHigh, _cpu.Core.Gpr[X86Core.RDX]);
        Assert.Equal(memoryLow, _cpu.Vm.Memory.Read<ulong>(CoreFixture.DataAddress));
        Assert.Equal(0UL, _cpu.Core.Flags & RFlags.ZF);
    }

    [Fact]
    public void An_operand_not_aligned_to_16_bytes_raises_gp_0()
    {
        _cpu.Core.Gpr[X86Core.RSI] = CoreFixture.DataAddress + 8;
        _cpu.Load(a => a.@lock.cmpxchg16b(__xmmword_ptr[rsi]));

        var fault = Assert.Throws<GuestFault>(() => _cpu.Step());

        Assert.Equal(ExceptionVector.GP, fault.Vector);
        Assert.Equal(0u, fault.ErrorCode);
    }

    [Fact]
    public void Two_vcpus_incrementing_a_128_bit_counter_with_lock_cmpxchg16b_lose_no_update()
    {
        const int increments = 20_000;
        const int vcpus = 2;
        using var vm = new EmulatorVm(new VmSpec("cx16", 1024 * 1024, VcpuCount: vcpus));
        var asm = new Assembler(64);
        var loop = asm.CreateLabel();
        var retry = asm.CreateLabel();
        asm.Label(ref loop);
        asm.mov(rax, __qword_ptr[rdi]);
        asm.mov(rdx, __qword_ptr[rdi + 8]);
        asm.Label(ref retry);
        asm.lea(rbx, __qword_ptr[rax + 1]);
        asm.lea(rcx, __qword_ptr[rdx + 1]);
        asm.@lock.cmpxchg16b(__xmmword_ptr[rdi]);
        asm.jne(retry);
        asm.dec(rsi);
        asm.jnz(loop);
        asm.hlt();
        using var stream = new MemoryStream();
        asm.Assemble(new StreamCodeWriter(stream), CoreFixture.CodeAddress);
        vm.Memory.Write(CoreFixture.CodeAddress, stream.ToArray());
        var threads = new Thread[vcpus];
        for (int i = 0; i < vcpus; i++)
        {
            var core = vm.Core(i);
            core.SetFlatMode(64);
            core.Rip = CoreFixture.CodeAddress;
            core.Gpr[X86Core.RDI] = CoreFixture.DataAddress;
            core.Gpr[X86Core.RSI] = increments;
            threads[i] = new Thread(() =>
            {
                while (core.Run().Reason != VcpuExitReason.Halt)
                {
                }
            });
            threads[i].Start();
        }

        foreach (var thread in threads)
        {
            thread.Join();
        }

        Assert.Equal((ulong)(increments * vcpus), vm.Memory.Read<ulong>(CoreFixture.DataAddress));
        Assert.Equal((ulong)(increments * vcpus), vm.Memory.Read<ulong>(CoreFixture.DataAddress + 8));
    }

    [Fact]
    public void Cpuid_advertises_cx16_in_leaf_1_ecx()
    {
        _cpu.Core.Gpr[X86Core.RAX] = 1;
        _cpu.Load(a => a.cpuid());

        _cpu.Step();

        Assert.Equal(X86Core.CpuidCx16, (uint)_cpu.Core.Gpr[X86Core.RCX] & X86Core.CpuidCx16);
    }

    [Fact]
    public void Cpuid_extended_leaf_advertises_nx_and_rdtscp_with_syscall_and_long_mode_only()
    {
        _cpu.Core.Gpr[X86Core.RAX] = ExtendedLeaf;
        _cpu.Load(a => a.cpuid());

        _cpu.Step();

        Assert.Equal(X86Core.CpuidSyscall | X86Core.CpuidNx | X86Core.CpuidRdtscp | X86Core.CpuidLongMode, (uint)_cpu.Core.Gpr[X86Core.RDX]);
        Assert.Equal(0UL, _cpu.Core.Gpr[X86Core.RCX]);
    }

    public void Dispose() => _cpu.Dispose();

    private void WriteOperand(ulong low, ulong high)
    {
        _cpu.Vm.Memory.Write(CoreFixture.DataAddress, low);
        _cpu.Vm.Memory.Write(CoreFixture.DataAddress + 8, high);
        _cpu.Core.Gpr[X86Core.RSI] = CoreFixture.DataAddress;
    }

    private void SetRegisters(ulong expectedLow, ulong expectedHigh)
    {
        _cpu.Core.Gpr[X86Core.RAX] = expectedLow;
        _cpu.Core.Gpr[X86Core.RDX] = expectedHigh;
        _cpu.Core.Gpr[X86Core.RBX] = NewLow;
        _cpu.Core.Gpr[X86Core.RCX] = NewHigh;
    }
}
