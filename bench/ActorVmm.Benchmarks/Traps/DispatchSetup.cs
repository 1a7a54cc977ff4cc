using ActorVmm.Machine.Traps;

namespace ActorVmm.Benchmarks.Traps;

/// <summary>Shared set-up: N regions per bus and a shuffled stream of addresses that hit them.</summary>
internal static class DispatchSetup
{
    public const int AddressCount = 4096;

    public static IDispatchPath Create(DispatchPathKind path) => path switch
    {
        DispatchPathKind.LockFree => new LockFreePath(),
        DispatchPathKind.GlobalLock => new GlobalLockPath(),
        _ => new ReaderWriterLockPath(),
    };

    /// <summary>Region i spans [i*stride, i*stride + size); PIO uses 8-port regions every 16 ports, MMIO 4 KiB pages every 8 KiB.</summary>
    public static (ulong Stride, ulong Size) Geometry(TrapBus bus) => bus == TrapBus.Pio ? (16UL, 8UL) : (0x2000UL, 0x1000UL);

    public static void Populate(IDispatchPath path, TrapBus bus, int regions, TrapHandler handler)
    {
        var (stride, size) = Geometry(bus);
        for (int i = 0; i < regions; i++)
        {
            path.Register(bus, (ulong)i * stride, size, handler, out _);
        }
    }

    public static ulong[] Addresses(TrapBus bus, int regions, int seed)
    {
        var (stride, size) = Geometry(bus);
        var random = new Random(seed);
        return [.. Enumerable.Range(0, AddressCount).Select(_ => ((ulong)random.Next(regions) * stride) + (ulong)random.Next((int)size - 4))];
    }
}

/// <summary>The dispatch paths compared: ours and the two baselines.</summary>
public enum DispatchPathKind
{
    /// <summary>ActorVmm's lock-free snapshot table.</summary>
    LockFree,

    /// <summary>Baseline (a): kvmtool's global mutex.</summary>
    GlobalLock,

    /// <summary>Baseline (b): Firecracker/cloud-hypervisor's RwLock over an ordered map.</summary>
    ReaderWriterLock,
}
