using ActorVmm.Emulator;
using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using ActorVmm.TestGuests;
using BenchmarkDotNet.Attributes;

namespace ActorVmm.Benchmarks.Emulator;

/// <summary>
/// Emulator throughput on one vCPU, driven on the benchmark thread (no vCPU thread hand-off):
/// guest instructions per second on an ALU loop, port-I/O and MMIO exits per second into a trivial
/// handler, the same port writes ringing a doorbell instead (matched before the trap table), and the
/// trap dispatcher's own cost per access for comparison.
/// Run: dotnet run -c Release --project bench/ActorVmm.Benchmarks -- --filter '*EmulatorBenchmarks*' --job short
/// </summary>
[MemoryDiagnoser]
public class EmulatorBenchmarks
{
    private const uint AluIterations = 5_000_000;
    private const int InstructionsPerAluIteration = 4;
    private const int AluInstructions = (int)AluIterations * InstructionsPerAluIteration;
    private const int Exits = 2_000_000;
    private const ushort BenchPort = 0x80;
    private const ulong VmMemory = 512 * 1024;

    private readonly byte[] _buffer = new byte[4];
    private EmulatorVm _aluVm = null!;
    private EmulatorVm _pioVm = null!;
    private EmulatorVm _mmioVm = null!;
    private EmulatorVm _doorbellVm = null!;
    private long _handled;

    [GlobalSetup]
    public void Setup()
    {
        _aluVm = CreateVm(IoGuests.AluLoop(AluIterations), out _);
        _pioVm = CreateVm(IoGuests.OutLoop(BenchPort, Exits), out var pioTraps);
        pioTraps.Register(TrapBus.Pio, BenchPort, 1, _ => _handled++, name: "bench-port");
        _mmioVm = CreateVm(IoGuests.MmioLoop(Exits), out var mmioTraps);
        mmioTraps.Register(TrapBus.Mmio, IoGuests.MmioBase, 0x1000, _ => _handled++, name: "bench-mmio");
        _doorbellVm = CreateVm(IoGuests.OutLoop(BenchPort, Exits), out _);
        _doorbellVm.Doorbells.Register(new Doorbell(TrapBus.Pio, BenchPort, 1), () => _handled++);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _aluVm.Dispose();
        _pioVm.Dispose();
        _mmioVm.Dispose();
        _doorbellVm.Dispose();
    }

    /// <summary>Time per guest instruction of an add/xor/dec/jnz loop.</summary>
    [Benchmark(OperationsPerInvoke = AluInstructions)]
    public long AluInstruction() => RunToExit(_aluVm);

    /// <summary>Time per OUT to a registered no-op port handler, including the loop's dec/jnz.</summary>
    [Benchmark(OperationsPerInvoke = Exits)]
    public long PortIoExit() => RunToExit(_pioVm);

    /// <summary>Time per OUT that rings a doorbell with a no-op callback (never reaching the trap table), including the loop's dec/jnz.</summary>
    [Benchmark(OperationsPerInvoke = Exits)]
    public long DoorbellExit() => RunToExit(_doorbellVm);

    /// <summary>Time per dword MMIO store into a registered no-op handler, including the loop's dec/jnz.</summary>
    [Benchmark(OperationsPerInvoke = Exits)]
    public long MmioExit() => RunToExit(_mmioVm);

    /// <summary>The dispatcher alone: lookup plus handler call for one port write.</summary>
    [Benchmark(OperationsPerInvoke = Exits)]
    public long DispatcherOnlyPio()
    {
        var dispatcher = _pioVm.Dispatcher;
        var data = _buffer.AsSpan(0, 1);
        for (int i = 0; i < Exits; i++)
        {
            dispatcher.Dispatch(0, TrapBus.Pio, BenchPort, TrapDirection.Write, data);
        }

        return _handled;
    }

    /// <summary>The dispatcher alone: lookup plus handler call for one MMIO dword write.</summary>
    [Benchmark(OperationsPerInvoke = Exits)]
    public long DispatcherOnlyMmio()
    {
        var dispatcher = _mmioVm.Dispatcher;
        var data = _buffer.AsSpan(0, 4);
        for (int i = 0; i < Exits; i++)
        {
            dispatcher.Dispatch(0, TrapBus.Mmio, IoGuests.MmioBase, TrapDirection.Write, data);
        }

        return _handled;
    }

    private static EmulatorVm CreateVm(byte[] image, out TrapTableWriter traps)
    {
        var vm = new EmulatorVm(new VmSpec("bench", VmMemory));
        FlatBinaryLoader.Load(vm.Memory, image);
        var core = vm.Core(0);
        traps = vm.Traps.ClaimWriter();
        traps.Register(TrapBus.Pio, GuestAssembler.ExitPort, 1, access =>
        {
            if (access.IsWrite)
            {
                core.RequestExit();
            }
        }, name: "exit");
        return vm;
    }

    private static long RunToExit(EmulatorVm vm)
    {
        var core = vm.Core(0);
        core.SetEntryState(RealModeEntry.FlatBinary);
        while (true)
        {
            var exit = core.Run();
            if (exit.Reason == VcpuExitReason.Interrupted)
            {
                return core.InstructionsRetired;
            }

            if (exit.Reason != VcpuExitReason.Halt)
            {
                throw new InvalidOperationException($"Benchmark guest ended with {exit}");
            }
        }
    }
}
