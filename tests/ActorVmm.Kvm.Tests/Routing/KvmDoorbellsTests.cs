using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Traps;
using static ActorVmm.Kvm.Interop.KvmConstants;

namespace ActorVmm.Kvm.Tests.Routing;

/// <summary>Doorbells as ioeventfds and the shared poller, against a fake VM fd (the test signals the eventfd as the kernel would).</summary>
public sealed class KvmDoorbellsTests
{
    private const ushort NotifyPort = 0x620;
    private const ulong NotifyMmio = 0xD000_0040;
    private const int Word = 2;
    private const int Dword = 4;
    private const ulong QueueIndex = 3;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public void Registering_assigns_an_ioeventfd_with_bus_length_and_data_match_and_disposing_deassigns_it()
    {
        var kernel = new FakeKvmVmKernel();
        using var doorbells = new KvmDoorbells(kernel, () => EventFdPoller.Shared);

        var port = doorbells.Register(new Doorbell(TrapBus.Pio, NotifyPort, Word, QueueIndex), () => { });
        doorbells.Register(new Doorbell(TrapBus.Mmio, NotifyMmio, Dword), () => { });

        var (portAssign, mmioAssign) = (kernel.IoEventFds[0], kernel.IoEventFds[1]);
        Assert.Equal((NotifyPort, (uint)Word, KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_DATAMATCH, QueueIndex), (portAssign.addr, portAssign.len, portAssign.flags, portAssign.datamatch));
        Assert.Equal((NotifyMmio, (uint)Dword, 0u), (mmioAssign.addr, mmioAssign.len, mmioAssign.flags));
        port.Dispose();
        var deassign = kernel.IoEventFds[^1];
        Assert.Equal(portAssign.fd, deassign.fd);
        Assert.Equal(portAssign.flags | KVM_IOEVENTFD_FLAG_DEASSIGN, deassign.flags);
        Assert.Equal(1, doorbells.Count);
    }

    [Fact]
    public void A_signalled_ioeventfd_runs_the_callback_once_on_the_poller_thread()
    {
        var kernel = new FakeKvmVmKernel();
        using var doorbells = new KvmDoorbells(kernel, () => EventFdPoller.Shared);
        using var rang = new SemaphoreSlim(0);
        int thread = -1;
        doorbells.Register(new Doorbell(TrapBus.Pio, NotifyPort, Word, QueueIndex), () =>
        {
            thread = Environment.CurrentManagedThreadId;
            rang.Release();
        });

        FakeKvmVmKernel.SignalEventFd(kernel.IoEventFds[0].fd);

        Assert.True(rang.Wait(Timeout));
        Assert.Equal(EventFdPoller.Shared.ManagedThreadId, thread);
        Assert.NotEqual(Environment.CurrentManagedThreadId, thread);
        Assert.False(rang.Wait(TimeSpan.FromMilliseconds(50)));
    }

    [Fact]
    public void Doorbells_of_two_vms_are_served_by_the_one_poller_thread()
    {
        var first = new FakeKvmVmKernel();
        var second = new FakeKvmVmKernel();
        using var firstVm = new KvmDoorbells(first, () => EventFdPoller.Shared);
        using var secondVm = new KvmDoorbells(second, () => EventFdPoller.Shared);
        var threads = new System.Collections.Concurrent.ConcurrentBag<int>();
        using var rang = new CountdownEvent(2);
        firstVm.Register(new Doorbell(TrapBus.Pio, NotifyPort, Word), () => { threads.Add(Environment.CurrentManagedThreadId); rang.Signal(); });
        secondVm.Register(new Doorbell(TrapBus.Pio, NotifyPort, Word), () => { threads.Add(Environment.CurrentManagedThreadId); rang.Signal(); });

        FakeKvmVmKernel.SignalEventFd(first.IoEventFds[0].fd);
        FakeKvmVmKernel.SignalEventFd(second.IoEventFds[0].fd);

        Assert.True(rang.Wait(Timeout));
        Assert.All(threads, t => Assert.Equal(EventFdPoller.Shared.ManagedThreadId, t));
    }

    [Fact]
    public void A_colliding_doorbell_is_refused_before_the_kernel_sees_it()
    {
        var kernel = new FakeKvmVmKernel();
        using var doorbells = new KvmDoorbells(kernel, () => EventFdPoller.Shared);
        doorbells.Register(new Doorbell(TrapBus.Pio, NotifyPort, Word, QueueIndex), () => { });

        Assert.Throws<InvalidOperationException>(() => doorbells.Register(new Doorbell(TrapBus.Pio, NotifyPort, Word), () => { }));

        Assert.Single(kernel.IoEventFds);
    }

    [Fact]
    public void Disposing_the_vms_doorbells_takes_every_eventfd_out_of_the_poller()
    {
        var kernel = new FakeKvmVmKernel();
        var doorbells = new KvmDoorbells(kernel, () => EventFdPoller.Shared);
        int callbacks = 0;
        doorbells.Register(new Doorbell(TrapBus.Pio, NotifyPort, Word), () => Interlocked.Increment(ref callbacks));
        doorbells.Register(new Doorbell(TrapBus.Mmio, NotifyMmio, Dword), () => Interlocked.Increment(ref callbacks));

        doorbells.Dispose();

        Assert.Equal(0, doorbells.Count);
        Assert.Equal(2, kernel.IoEventFds.Count(f => (f.flags & KVM_IOEVENTFD_FLAG_DEASSIGN) != 0));
        Assert.Equal(0, Volatile.Read(ref callbacks));
    }
}
