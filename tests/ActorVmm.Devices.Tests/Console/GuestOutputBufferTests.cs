using ActorVmm.Devices.Serial;
using ActorVmm.Devices.Tests.Support;
using ActorVmm.Machine.Traps;
using FsCheck.Xunit;

namespace ActorVmm.Devices.Tests.Console;

public sealed class GuestOutputBufferTests
{
    private const int SmallCapacity = 8;

    [Fact]
    public void A_burst_into_an_idle_buffer_raises_the_drain_signal_once_and_again_after_the_sink_starts_draining()
    {
        var buffer = new GuestOutputBuffer(SmallCapacity);
        int signals = 0;
        buffer.SetDrainSignal(() => signals++);

        buffer.Write("a"u8);
        buffer.Write("bc"u8);
        Assert.Equal(1, signals);

        buffer.BeginDrain();
        buffer.Write("d"u8);
        Assert.Equal(2, signals);
    }

    [Fact]
    public void Bytes_that_fill_the_buffer_past_half_raise_the_signal_once_more_so_a_batching_sink_writes_at_once()
    {
        var buffer = new GuestOutputBuffer(SmallCapacity);
        int signals = 0;
        buffer.SetDrainSignal(() => signals++);

        buffer.Write("abc"u8);
        Assert.Equal(1, signals);

        buffer.Write("d"u8);
        Assert.Equal(2, signals);

        buffer.Write("ef"u8);
        Assert.Equal(2, signals);
    }

    [Fact]
    public void Setting_the_signal_while_bytes_wait_raises_it_at_once_so_a_restarted_sink_drains_what_its_predecessor_left()
    {
        var buffer = new GuestOutputBuffer(SmallCapacity);
        buffer.Write("left"u8);
        int signals = 0;

        buffer.SetDrainSignal(() => signals++);

        Assert.Equal(1, signals);
    }

    [Fact]
    public void A_full_buffer_takes_only_what_fits_and_tells_the_waiter_once_when_the_sink_makes_room()
    {
        var buffer = new GuestOutputBuffer(SmallCapacity);
        var waiter = new CountingWaiter();
        byte[] data = [.. Enumerable.Range(1, SmallCapacity + 3).Select(i => (byte)i)];

        Assert.Equal(SmallCapacity, buffer.TryWrite(data, waiter));
        Assert.Equal(0, buffer.TryWrite(data.AsSpan(SmallCapacity), waiter));
        Assert.Equal(0, waiter.Told);

        buffer.Consume(1);
        Assert.Equal(1, waiter.Told);
        buffer.Consume(1);
        Assert.Equal(1, waiter.Told);
    }

    [Fact]
    public void Write_from_a_caller_that_cannot_wait_drops_what_does_not_fit_and_counts_it()
    {
        var buffer = new GuestOutputBuffer(SmallCapacity);

        buffer.Write(new byte[SmallCapacity + 5]);

        Assert.Equal(SmallCapacity, buffer.Accepted);
        Assert.Equal(5, buffer.Dropped);
    }

    [Fact]
    public void Consuming_more_than_waits_is_refused()
    {
        var buffer = new GuestOutputBuffer(SmallCapacity);
        buffer.Write("abc"u8);

        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.Consume(4));
    }

    [Fact]
    public void A_uart_transmitting_into_the_console_buffer_allocates_nothing_on_the_vcpu_thread()
    {
        const int Bytes = 10_000;
        var spec = SerialPortSpec.Com1;
        // Room for four times the bytes: this test is about allocation, so the half-full signal stays out of it.
        var buffer = new GuestOutputBuffer(4 * Bytes);
        int signals = 0;
        buffer.SetDrainSignal(() => signals++);
        var uart = new SerialDevice(spec, new RecordingInterruptLine(spec.Irq), buffer);
        Span<byte> data = [(byte)'x'];
        Transmit(uart, spec, data);
        buffer.BeginDrain();

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Bytes; i++)
        {
            Transmit(uart, spec, data);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal(Bytes + 1, buffer.Accepted);
        Assert.Equal(2, signals);
    }

    private static void Transmit(IDevice uart, SerialPortSpec spec, Span<byte> data) =>
        uart.HandleTrap(0, new TrapAccess(0, spec.Bus, spec.Base, Uart16550Registers.ThrOffset, TrapDirection.Write, data));

    /// <summary>Any interleaving of appends and partial drains yields exactly the appended bytes, in order, never more than the capacity in flight.</summary>
    [Property(MaxTest = 300)]
    public bool Bytes_come_out_exactly_once_in_order_through_any_wrap_of_the_ring((byte Length, byte Drain)[] steps)
    {
        var buffer = new GuestOutputBuffer(SmallCapacity);
        var waiter = new CountingWaiter();
        var expected = new List<byte>();
        var drained = new List<byte>();
        byte next = 0;
        foreach (var (length, drain) in steps ?? [])
        {
            byte[] chunk = new byte[length % (2 * SmallCapacity)];
            for (int i = 0; i < chunk.Length; i++)
            {
                chunk[i] = next++;
            }

            int taken = buffer.TryWrite(chunk, waiter);
            expected.AddRange(chunk.AsSpan(0, taken).ToArray());
            next = (byte)(next - (chunk.Length - taken));
            buffer.BeginDrain();
            int waiting = buffer.Peek(out var first, out var second);
            int take = Math.Min(waiting, drain % (SmallCapacity + 1));
            byte[] run = [.. first.ToArray(), .. second.ToArray()];
            drained.AddRange(run.AsSpan(0, take).ToArray());
            buffer.Consume(take);
            if (waiting > SmallCapacity || buffer.PendingCount != waiting - take)
            {
                return false;
            }
        }

        buffer.Peek(out var restFirst, out var restSecond);
        drained.AddRange([.. restFirst.ToArray(), .. restSecond.ToArray()]);
        return expected.SequenceEqual(drained);
    }

    private sealed class CountingWaiter : IGuestOutputWaiter
    {
        public int Told { get; private set; }

        public void OnOutputSpaceAvailable() => Told++;
    }
}
