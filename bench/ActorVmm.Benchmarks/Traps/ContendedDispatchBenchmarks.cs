using ActorVmm.Machine.Traps;
using BenchmarkDotNet.Attributes;

namespace ActorVmm.Benchmarks.Traps;

/// <summary>
/// Two dispatching threads (vCPUs) while a third thread churns register/unregister as fast as it can.
/// The figure is time per dispatch across both threads (lower is better; throughput = 1 / time).
/// Run: dotnet run -c Release --project bench/ActorVmm.Benchmarks -- --filter '*ContendedDispatch*'
/// </summary>
[MemoryDiagnoser]
public class ContendedDispatchBenchmarks
{
    private const int PerThread = 200_000;
    private const int DispatchThreads = 2;
    private IDispatchPath _path = null!;
    private ulong[] _addresses = [];

    [Params(64)]
    public int Regions { get; set; }

    [Params(TrapBus.Mmio)]
    public TrapBus Bus { get; set; }

    [ParamsAllValues]
    public DispatchPathKind Path { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _path = DispatchSetup.Create(Path);
        DispatchSetup.Populate(_path, Bus, Regions, static access => access.Data[0] = 1);
        _addresses = DispatchSetup.Addresses(Bus, Regions, seed: 2);
    }

    /// <summary>Reported per dispatch (both threads together).</summary>
    [Benchmark(OperationsPerInvoke = PerThread * DispatchThreads)]
    public void DispatchWithChurn()
    {
        using var done = new CountdownEvent(DispatchThreads);
        var path = _path;
        var bus = Bus;
        var churnBase = (ulong)(Regions + 16) * DispatchSetup.Geometry(bus).Stride;
        var churn = new Thread(() =>
        {
            while (!done.IsSet)
            {
                path.Register(bus, churnBase, DispatchSetup.Geometry(bus).Size, static _ => { }, out var token);
                path.Unregister(bus, token);
            }
        });
        var workers = Enumerable.Range(0, DispatchThreads).Select(v => new Thread(() =>
        {
            Span<byte> data = stackalloc byte[4];
            var addresses = _addresses;
            for (int i = 0; i < PerThread; i++)
            {
                path.Dispatch(v, bus, addresses[i & (DispatchSetup.AddressCount - 1)], data);
            }

            done.Signal();
        })).ToList();

        churn.Start();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        churn.Join();
    }
}
