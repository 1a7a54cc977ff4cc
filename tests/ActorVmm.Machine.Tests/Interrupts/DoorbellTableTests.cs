using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Machine.Tests.Interrupts;

public sealed class DoorbellTableTests
{
    private const ulong NotifyPort = 0x620;
    private const ulong NotifyMmio = 0xD000_0000;
    private const int Word = 2;
    private const int Dword = 4;
    private const ulong Queue0 = 0;
    private const ulong Queue1 = 1;

    [Fact]
    public void A_write_rings_only_the_doorbell_with_its_address_length_and_value()
    {
        var table = new DoorbellTable();
        int queue0 = 0;
        int queue1 = 0;
        table.Add(new Doorbell(TrapBus.Pio, NotifyPort, Word, Queue0), () => queue0++);
        table.Add(new Doorbell(TrapBus.Pio, NotifyPort, Word, Queue1), () => queue1++);

        Assert.True(table.TryRing(TrapBus.Pio, NotifyPort, Word, Queue1));
        Assert.False(table.TryRing(TrapBus.Pio, NotifyPort, Dword, Queue1));
        Assert.False(table.TryRing(TrapBus.Pio, NotifyPort + 1, Word, Queue1));
        Assert.False(table.TryRing(TrapBus.Mmio, NotifyPort, Word, Queue1));
        Assert.False(table.TryRing(TrapBus.Pio, NotifyPort, Word, Queue1 + 1));

        Assert.Equal((0, 1), (queue0, queue1));
    }

    [Fact]
    public void A_doorbell_without_a_data_match_rings_on_any_value()
    {
        var table = new DoorbellTable();
        int rings = 0;
        table.Add(new Doorbell(TrapBus.Mmio, NotifyMmio, Dword), () => rings++);

        Assert.True(table.TryRing(TrapBus.Mmio, NotifyMmio, Dword, 0x1234));
        Assert.True(table.TryRing(TrapBus.Mmio, NotifyMmio, Dword, 0));

        Assert.Equal(2, rings);
    }

    [Theory]
    [InlineData(Queue0, Queue0)]
    [InlineData(Queue0, null)]
    [InlineData(null, Queue1)]
    public void Doorbells_that_would_claim_the_same_write_collide_as_kvm_refuses_them(ulong? first, ulong? second)
    {
        var table = new DoorbellTable();
        table.Add(new Doorbell(TrapBus.Pio, NotifyPort, Word, first), () => { });

        var error = Assert.Throws<InvalidOperationException>(() => table.Add(new Doorbell(TrapBus.Pio, NotifyPort, Word, second), () => { }));

        Assert.Contains("collides", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, table.Count);
    }

    [Theory]
    [InlineData(TrapBus.Pio, NotifyPort, 3, null)]
    [InlineData(TrapBus.Pio, NotifyPort, 8, null)]
    [InlineData(TrapBus.Pio, 0xFFFFUL, Word, null)]
    [InlineData(TrapBus.Mmio, ulong.MaxValue, Dword, null)]
    [InlineData(TrapBus.Mmio, NotifyMmio, Word, 0x1_0000UL)]
    public void A_malformed_doorbell_is_refused_with_a_clear_error(TrapBus bus, ulong address, int length, ulong? match)
    {
        var table = new DoorbellTable();

        Assert.Throws<ArgumentException>(() => table.Add(new Doorbell(bus, address, length, match), () => { }));
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void A_removed_doorbell_no_longer_rings_and_the_write_goes_on_to_the_trap_table()
    {
        var table = new DoorbellTable();
        int rings = 0;
        var entry = table.Add(new Doorbell(TrapBus.Pio, NotifyPort, Word), () => rings++);

        entry.Dispose();

        Assert.False(table.TryRing(TrapBus.Pio, NotifyPort, Word, Queue0));
        Assert.Equal(0, rings);
        Assert.Equal(0, table.Count);
        Assert.False(table.Remove(entry));
    }

    [Fact]
    public void A_callback_that_throws_is_counted_and_the_write_is_still_consumed()
    {
        var table = new DoorbellTable();
        table.Add(new Doorbell(TrapBus.Pio, NotifyPort, Word), () => throw new InvalidOperationException("device bug"));

        Assert.True(table.TryRing(TrapBus.Pio, NotifyPort, Word, Queue0));

        Assert.Equal(1, table.FailedCallbacks);
    }

    [Fact]
    public async Task Removing_waits_for_a_callback_in_progress_and_none_starts_afterwards()
    {
        var table = new DoorbellTable();
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        int rings = 0;
        var entry = table.Add(new Doorbell(TrapBus.Pio, NotifyPort, Word), () =>
        {
            Interlocked.Increment(ref rings);
            entered.Set();
            release.Wait();
        });
        var ringing = Task.Run(() => table.TryRing(TrapBus.Pio, NotifyPort, Word, Queue0));
        Assert.True(entered.Wait(TimeSpan.FromSeconds(10)));

        var removing = Task.Run(entry.Dispose);
        var early = await Task.WhenAny(removing, Task.Delay(TimeSpan.FromMilliseconds(100)));
        Assert.NotSame(removing, early);
        release.Set();

        await removing.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(await ringing);
        entry.Ring();
        Assert.Equal(1, Volatile.Read(ref rings));
    }
}
