namespace ActorVmm.Machine.Traps;

/// <summary>Per-bus counters of accesses no region claimed, one cache line per vCPU.</summary>
public sealed class UnhandledCounters
{
    private const int Stride = 8;
    private readonly long[] _slots;
    private readonly int _maxVcpus;

    internal UnhandledCounters(int maxVcpus)
    {
        _maxVcpus = maxVcpus;
        _slots = new long[(maxVcpus + 1) * Stride];
    }

    internal void Count(int vcpuId, TrapBus bus, TrapDirection direction) =>
        _slots[((vcpuId + 1) * Stride) + ((int)bus * 2) + (int)direction]++;

    /// <summary>Unhandled accesses on a bus in one direction, summed over vCPUs.</summary>
    public long Get(TrapBus bus, TrapDirection direction)
    {
        long sum = 0;
        for (int v = 1; v <= _maxVcpus; v++)
        {
            sum += Volatile.Read(ref _slots[(v * Stride) + ((int)bus * 2) + (int)direction]);
        }

        return sum;
    }

    /// <summary>Unhandled accesses on a bus, both directions.</summary>
    public long Get(TrapBus bus) => Get(bus, TrapDirection.Read) + Get(bus, TrapDirection.Write);
}
