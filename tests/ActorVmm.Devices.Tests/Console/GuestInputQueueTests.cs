namespace ActorVmm.Devices.Tests.Console;

public sealed class GuestInputQueueTests
{
    private const int SmallCapacity = 4;

    [Fact]
    public void The_queue_takes_only_what_fits_and_hands_bytes_out_in_order_across_the_wrap()
    {
        var queue = new GuestInputQueue(SmallCapacity);

        Assert.Equal(SmallCapacity, queue.Add("abcdef"u8));
        Assert.Equal(0, queue.Space);
        Assert.True(queue.TryTake(out byte a));
        Assert.True(queue.TryTake(out byte b));
        Assert.Equal(2, queue.Add("ef"u8));

        var taken = new List<byte> { a, b };
        while (queue.TryTake(out byte value))
        {
            taken.Add(value);
        }

        Assert.Equal("abcdef"u8.ToArray(), taken);
        Assert.True(queue.IsEmpty);
    }

    [Fact]
    public void Peeking_does_not_take_the_byte()
    {
        var queue = new GuestInputQueue(SmallCapacity);
        queue.Add("x"u8);

        Assert.True(queue.TryPeek(out byte peeked));
        Assert.Equal(1, queue.Count);
        Assert.True(queue.TryTake(out byte taken));
        Assert.Equal(peeked, taken);
        Assert.False(queue.TryPeek(out _));
    }
}
