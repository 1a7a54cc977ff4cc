using ActorVmm.Machine.Traps;

namespace ActorVmm.Kvm.Tests.Kvm;

public sealed class CoalescedRingTests
{
    private const ulong CoalescedBase = 0xD000_0000;
    private const int Rounds = 5;
    private const int HandlerSpinIterations = 2000;

    [Fact]
    public async Task Two_vcpus_draining_the_shared_ring_at_once_replay_every_entry_exactly_once_in_order()
    {
        using var kernel = new FakeKvmKernel();
        var table = new TrapTable();
        var dispatcher = new TrapDispatcher(table);
        var replayed = new List<ulong>();
        table.ClaimWriter().Register(TrapBus.Mmio, CoalescedBase, FakeKvmKernel.RingCapacity, access =>
        {
            // A handler that takes a moment widens the window in which two unsynchronised
            // consumers would both replay the same entry.
            Thread.SpinWait(HandlerSpinIterations);
            lock (replayed)
            {
                replayed.Add(access.Address);
            }
        }, TrapFlags.Coalesce);
        var drainLock = new Lock();
        var vcpu0 = new CoalescedRing(kernel.CoalescedRing, FakeKvmKernel.PageSize, drainLock);
        var vcpu1 = new CoalescedRing(kernel.CoalescedRing, FakeKvmKernel.PageSize, drainLock);
        int entries = (int)FakeKvmKernel.RingCapacity - 1;

        for (int round = 0; round < Rounds; round++)
        {
            for (int i = 0; i < entries; i++)
            {
                kernel.PushCoalesced(CoalescedBase + (ulong)i, [(byte)round], pio: false);
            }

            using var start = new Barrier(2);
            var first = Task.Run(() => { start.SignalAndWait(); return vcpu0.Drain(0, dispatcher); });
            var second = Task.Run(() => { start.SignalAndWait(); return vcpu1.Drain(1, dispatcher); });
            int[] drained = await Task.WhenAll(first, second);

            Assert.Equal(entries, drained.Sum());
        }

        var expected = Enumerable.Range(0, Rounds).SelectMany(_ => Enumerable.Range(0, entries).Select(i => CoalescedBase + (ulong)i));
        Assert.Equal(expected, replayed);
    }
}
