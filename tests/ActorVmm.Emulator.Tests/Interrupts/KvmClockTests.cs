using System.Buffers.Binary;
using ActorVmm.Emulator.Cpu;
using ActorVmm.Emulator.Time;
using ActorVmm.Machine.Vcpu;
using Iced.Intel;
using Microsoft.Extensions.Time.Testing;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.Emulator.Tests.Interrupts;

/// <summary>kvm-clock on the emulator: the hypervisor leaves, and pvclock records that read the same virtual time as the TSC.</summary>
public sealed class KvmClockTests : IDisposable
{
    private const ulong Memory = 1024 * 1024;
    private const ulong CodeAddress = 0x1000;
    private const ulong RecordAddress = 0x8000;
    private const ulong WallClockAddress = 0x9000;
    private const int Version = 0;
    private const int TscTimestamp = 8;
    private const int SystemTime = 16;
    private const int Multiplier = 24;
    private const int Shift = 28;
    private const int Flags = 29;
    private const byte TscStable = 1;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
    private readonly EmulatorVm _vm;

    public KvmClockTests()
    {
        _vm = new EmulatorVm(new VmSpec("kvmclock", Memory), time: _time);
    }

    public void Dispose() => _vm.Dispose();

    private X86Core Run(Action<Assembler> emit, int steps)
    {
        var core = _vm.Core(0);
        core.SetFlatMode(64);
        var asm = new Assembler(64);
        emit(asm);
        using var stream = new MemoryStream();
        asm.Assemble(new StreamCodeWriter(stream), CodeAddress);
        _vm.Memory.Write(CodeAddress, stream.ToArray());
        core.Rip = CodeAddress;
        for (int i = 0; i < steps; i++)
        {
            core.Step();
        }

        return core;
    }

    private static void WriteMsr(Assembler asm, uint msr, ulong value)
    {
        asm.mov(ecx, msr);
        asm.mov(eax, unchecked((uint)value));
        asm.mov(edx, (uint)(value >> 32));
        asm.wrmsr();
    }

    [Fact]
    public void The_hypervisor_leaves_say_kvm_with_only_the_clock_features()
    {
        var core = Run(asm =>
        {
            asm.mov(eax, X86Core.CpuidHypervisorBase);
            asm.cpuid();
        }, 2);
        Span<byte> signature = stackalloc byte[12];
        BinaryPrimitives.WriteUInt32LittleEndian(signature, (uint)core.Gpr[X86Core.RBX]);
        BinaryPrimitives.WriteUInt32LittleEndian(signature[4..], (uint)core.Gpr[X86Core.RCX]);
        BinaryPrimitives.WriteUInt32LittleEndian(signature[8..], (uint)core.Gpr[X86Core.RDX]);

        Assert.Equal(X86Core.CpuidKvmFeatures, (uint)core.Gpr[X86Core.RAX]);
        Assert.Equal("KVMKVMKVM\0\0\0"u8.ToArray(), signature.ToArray());

        Run(asm =>
        {
            asm.mov(eax, X86Core.CpuidKvmFeatures);
            asm.cpuid();
        }, 2);
        Assert.Equal(X86Core.KvmFeatureClockSource2 | X86Core.KvmFeatureClockSourceStable, (uint)core.Gpr[X86Core.RAX]);
    }

    [Theory]
    [InlineData(1_000_000_000L)]
    [InlineData(2_500_000_000L)]
    [InlineData(33_000_000L)]
    public void The_time_scale_converts_a_second_of_tsc_ticks_to_a_second_within_a_nanosecond(long tscHz)
    {
        var (multiplier, shift) = X86Core.TimeScale(VirtualClock.NanosecondsPerSecond, tscHz);
        ulong delta = (ulong)tscHz;
        delta = shift >= 0 ? delta << shift : delta >> -shift;

        ulong nanoseconds = (ulong)(((UInt128)delta * multiplier) >> 32);

        Assert.InRange((long)nanoseconds, VirtualClock.NanosecondsPerSecond - 1, VirtualClock.NanosecondsPerSecond);
    }

    [Fact]
    public void The_system_time_record_turns_any_later_tsc_reading_into_the_clocks_nanoseconds()
    {
        _time.Advance(TimeSpan.FromMilliseconds(7));
        var core = Run(asm => WriteMsr(asm, X86Core.MsrKvmSystemTime, RecordAddress | 1), 4);
        byte[] record = new byte[32];
        _vm.Memory.Read(RecordAddress, record);
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(record.AsSpan(Version)) % 2);
        Assert.Equal(TscStable, record[Flags]);

        _time.Advance(TimeSpan.FromMilliseconds(1234));
        ulong delta = core.ReadTsc() - BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(TscTimestamp));
        sbyte shift = (sbyte)record[Shift];
        delta = shift >= 0 ? delta << shift : delta >> -shift;
        ulong nanoseconds = BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(SystemTime))
            + (ulong)(((UInt128)delta * BinaryPrimitives.ReadUInt32LittleEndian(record.AsSpan(Multiplier))) >> 32);

        Assert.Equal((ulong)TimeSpan.FromMilliseconds(7 + 1234).Ticks * 100, nanoseconds);
    }

    [Fact]
    public void The_wall_clock_record_holds_the_utc_time_at_which_the_clock_started()
    {
        var started = _time.GetUtcNow();
        _time.Advance(TimeSpan.FromSeconds(90));

        Run(asm => WriteMsr(asm, X86Core.MsrKvmWallClock, WallClockAddress), 4);
        byte[] record = new byte[12];
        _vm.Memory.Read(WallClockAddress, record);

        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(record) % 2);
        Assert.Equal((uint)started.ToUnixTimeSeconds(), BinaryPrimitives.ReadUInt32LittleEndian(record.AsSpan(4)));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(record.AsSpan(8)));
    }

    [Fact]
    public void A_system_time_record_outside_ram_is_ignored()
    {
        var core = Run(asm => WriteMsr(asm, X86Core.MsrKvmSystemTime, (Memory + 0x1000) | 1), 4);

        const int SequenceLength = 17; // three mov r32, imm32 and wrmsr: no #GP was raised
        Assert.Equal(CodeAddress + SequenceLength, core.Rip);
    }
}
