using ActorVmm.Devices.Virtio.Rng;
using ActorVmm.TestSupport.Virtio;
using static ActorVmm.Devices.Tests.Virtio.VirtioRigs;

namespace ActorVmm.Devices.Tests.Virtio;

public sealed class VirtioRngTests
{
    [Fact]
    public void Each_writable_buffer_is_filled_from_the_generator_and_its_length_reported()
    {
        byte next = 0;
        using var machine = Rng(span =>
        {
            for (int i = 0; i < span.Length; i++)
            {
                span[i] = ++next;
            }
        });
        var queue = Start(machine)[0];
        ushort head = queue.AddChain([DriverBuffer.Writable(Buffers, 3), DriverBuffer.Writable(Buffers + 0x100, 2)]);
        queue.MakeAvailable(head);

        machine.Driver.Notify(0);
        machine.RunSlowPath();

        Assert.True(queue.TryTakeUsed(out var used));
        Assert.Equal(new UsedElement(head, 5), used);
        Assert.Equal([1, 2, 3, 0], Bytes(machine, Buffers, 4));
        Assert.Equal([4, 5, 0], Bytes(machine, Buffers + 0x100, 3));
    }

    [Fact]
    public void A_chain_without_writable_buffers_is_returned_with_length_zero()
    {
        using var machine = Rng();
        var queue = Start(machine)[0];
        queue.MakeAvailable(queue.AddChain([DriverBuffer.Readable(Buffers, 64)]));

        machine.Driver.Notify(0);
        machine.RunSlowPath();

        Assert.True(queue.TryTakeUsed(out var used));
        Assert.Equal(0u, used.Length);
        Assert.Equal(new byte[64], Bytes(machine, Buffers, 64));
    }

    [Fact]
    public void A_huge_buffer_gets_at_most_the_per_request_limit()
    {
        using var machine = Rng();
        var queue = Start(machine)[0];
        queue.MakeAvailable(queue.AddChain([DriverBuffer.Writable(Buffers, 0x10_0000)]));

        machine.Driver.Notify(0);
        machine.RunSlowPath();

        Assert.True(queue.TryTakeUsed(out var used));
        Assert.Equal((uint)VirtioRng.MaxBytesPerRequest, used.Length);
        Assert.All(Bytes(machine, Buffers, VirtioRng.MaxBytesPerRequest), b => Assert.Equal(0xA5, b));
        Assert.Equal(0, Bytes(machine, Buffers + VirtioRng.MaxBytesPerRequest, 1)[0]);
    }

    [Fact]
    public void The_default_generator_is_the_host_csprng()
    {
        using var machine = new VirtioTestMachine(Ram, _ => new VirtioRng());
        var queue = Start(machine)[0];
        queue.MakeAvailable(queue.AddChain([DriverBuffer.Writable(Buffers, 4096)]));

        machine.Driver.Notify(0);
        machine.RunSlowPath();

        // 4096 bytes from a CSPRNG: all byte values but a handful appear; zeroed memory would show one.
        Assert.True(Bytes(machine, Buffers, 4096).Distinct().Count() > 200);
    }

    [Fact]
    public void Every_chain_made_available_is_served_in_one_pass_with_one_interrupt()
    {
        using var machine = Rng();
        var queue = Start(machine)[0];
        int edges = machine.Line.RisingEdges;
        for (int i = 0; i < QueueSize; i++)
        {
            queue.MakeAvailable(queue.AddChain([DriverBuffer.Writable(Buffers + ((ulong)i * 0x100), 16)]));
        }

        machine.Driver.Notify(0);
        machine.RunSlowPath();

        Assert.Equal(QueueSize, queue.UsedIndex);
        Assert.Equal(edges + 1, machine.Line.RisingEdges);
    }
}
