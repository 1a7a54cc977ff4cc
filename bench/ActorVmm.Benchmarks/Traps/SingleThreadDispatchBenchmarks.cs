using ActorVmm.Machine.Traps;
using BenchmarkDotNet.Attributes;

namespace ActorVmm.Benchmarks.Traps;

/// <summary>
/// Lookup + call of a trivial handler on one thread, for 8/64/1024 regions on each bus.
/// Run: dotnet run -c Release --project bench/ActorVmm.Benchmarks -- --filter '*SingleThreadDispatch*'
/// </summary>
[MemoryDiagnoser]
public class SingleThreadDispatchBenchmarks
{
    private const int Batch = DispatchSetup.AddressCount;
    private IDispatchPath _path = null!;
    private ulong[] _addresses = [];
    private readonly byte[] _data = new byte[4];

    [Params(8, 64, 1024)]
    public int Regions { get; set; }

    [Params(TrapBus.Pio, TrapBus.Mmio)]
    public TrapBus Bus { get; set; }

    [ParamsAllValues]
    public DispatchPathKind Path { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _path = DispatchSetup.Create(Path);
        DispatchSetup.Populate(_path, Bus, Regions, static access => access.Data[0] = 1);
        _addresses = DispatchSetup.Addresses(Bus, Regions, seed: 1);
    }

    /// <summary>Reported per dispatch.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public void Dispatch()
    {
        var path = _path;
        var bus = Bus;
        Span<byte> data = _data;
        foreach (ulong address in _addresses)
        {
            path.Dispatch(0, bus, address, data);
        }
    }
}
