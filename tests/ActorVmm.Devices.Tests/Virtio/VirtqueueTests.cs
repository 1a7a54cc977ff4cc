using ActorVmm.Devices.Virtio.Queues;
using ActorVmm.Machine.Memory;
using ActorVmm.TestSupport.Virtio;

namespace ActorVmm.Devices.Tests.Virtio;

public sealed class VirtqueueTests : IDisposable
{
    private const ushort Size = 8;
    private const ulong RamBytes = 0x20_0000;
    private const ulong Buffers = 0x8000;

    private readonly GuestMemory _memory = GuestMemory.Create(RamBytes);
    private readonly GuestDma _dma;
    private readonly DriverQueue _driver;

    public VirtqueueTests()
    {
        _dma = new GuestDma(_memory);
        _driver = DriverQueue.Allocate(_dma, new GuestArena(0x1000, Buffers), Size);
    }

    public void Dispose() => _memory.Dispose();

    [Fact]
    public void A_chain_is_read_as_its_readable_buffers_then_its_writable_buffers()
    {
        var queue = Device();
        ushort head = _driver.AddChain([DriverBuffer.Readable(Buffers, 16), DriverBuffer.Writable(Buffers + 0x100, 512), DriverBuffer.Writable(Buffers + 0x400, 1)]);
        _driver.MakeAvailable(head);

        Assert.True(queue.TryPop(out var chain));

        Assert.Equal(head, chain.Head);
        Assert.Equal(16u, chain.ReadableLength);
        Assert.Equal(513u, chain.WritableLength);
        Assert.Equal([new GuestBuffer(Buffers, 16)], chain.Readable.ToArray());
        Assert.Equal([new GuestBuffer(Buffers + 0x100, 512), new GuestBuffer(Buffers + 0x400, 1)], chain.Writable.ToArray());
        Assert.False(queue.TryPop(out _));
    }

    [Fact]
    public void An_indirect_table_is_followed_when_negotiated()
    {
        var queue = Device(indirect: true);
        ushort head = _driver.AddIndirectChain([DriverBuffer.Readable(Buffers, 16), DriverBuffer.Writable(Buffers + 0x100, 64)], Buffers + 0x1000);
        _driver.MakeAvailable(head);

        Assert.True(queue.TryPop(out var chain));

        Assert.Equal(16u, chain.ReadableLength);
        Assert.Equal(64u, chain.WritableLength);
    }

    [Fact]
    public void A_direct_prefix_may_precede_a_final_indirect_descriptor()
    {
        var queue = Device(indirect: true);
        ulong table = Buffers + 0x1000;
        _driver.WriteDescriptor(table, 0, Buffers + 0x100, 32, SplitRing.DescriptorWrite, 0);
        _driver.WriteDescriptor(_driver.DescriptorTable, 0, Buffers, 16, SplitRing.DescriptorNext, 1);
        _driver.WriteDescriptor(_driver.DescriptorTable, 1, table, SplitRing.DescriptorSize, SplitRing.DescriptorIndirect, 0);
        _driver.MakeAvailable(0);

        Assert.True(queue.TryPop(out var chain));

        Assert.Equal(16u, chain.ReadableLength);
        Assert.Equal(32u, chain.WritableLength);
    }

    [Fact]
    public void An_indirect_descriptor_without_the_feature_is_refused()
    {
        var queue = Device(indirect: false);
        _driver.MakeAvailable(_driver.AddIndirectChain([DriverBuffer.Writable(Buffers, 64)], Buffers + 0x1000));

        AssertFault(VirtqueueFault.IndirectNotNegotiated, queue);
    }

    [Fact]
    public void A_loop_in_next_is_a_chain_too_long_for_the_table()
    {
        var queue = Device();
        _driver.WriteDescriptor(_driver.DescriptorTable, 0, Buffers, 16, SplitRing.DescriptorNext, 1);
        _driver.WriteDescriptor(_driver.DescriptorTable, 1, Buffers, 16, SplitRing.DescriptorNext, 0);
        _driver.MakeAvailable(0);

        AssertFault(VirtqueueFault.ChainTooLong, queue);
    }

    [Fact]
    public void A_loop_inside_an_indirect_table_is_refused()
    {
        var queue = Device(indirect: true);
        ulong table = Buffers + 0x1000;
        _driver.WriteDescriptor(table, 0, Buffers, 16, SplitRing.DescriptorNext, 1);
        _driver.WriteDescriptor(table, 1, Buffers, 16, SplitRing.DescriptorNext, 0);
        _driver.WriteDescriptor(_driver.DescriptorTable, 0, table, 2 * SplitRing.DescriptorSize, SplitRing.DescriptorIndirect, 0);
        _driver.MakeAvailable(0);

        AssertFault(VirtqueueFault.ChainTooLong, queue);
    }

    [Fact]
    public void A_next_index_outside_the_table_is_refused()
    {
        var queue = Device();
        _driver.WriteDescriptor(_driver.DescriptorTable, 0, Buffers, 16, SplitRing.DescriptorNext, Size);
        _driver.MakeAvailable(0);

        AssertFault(VirtqueueFault.NextOutOfRange, queue);
    }

    [Fact]
    public void A_next_index_outside_an_indirect_table_is_refused()
    {
        var queue = Device(indirect: true);
        ulong table = Buffers + 0x1000;
        _driver.WriteDescriptor(table, 0, Buffers, 16, SplitRing.DescriptorNext, 1);
        _driver.WriteDescriptor(_driver.DescriptorTable, 0, table, SplitRing.DescriptorSize, SplitRing.DescriptorIndirect, 0);
        _driver.MakeAvailable(0);

        AssertFault(VirtqueueFault.NextOutOfRange, queue);
    }

    [Fact]
    public void A_head_outside_the_table_is_refused()
    {
        var queue = Device();
        _driver.MakeAvailable(Size);

        AssertFault(VirtqueueFault.HeadOutOfRange, queue);
    }

    [Fact]
    public void An_available_index_more_than_the_queue_size_ahead_is_refused()
    {
        var queue = Device();
        _driver.PublishAvailableIndex(Size + 1);

        AssertFault(VirtqueueFault.AvailableIndexJump, queue);
    }

    [Fact]
    public void A_readable_buffer_after_a_writable_one_is_refused()
    {
        var queue = Device();
        _driver.MakeAvailable(_driver.AddChain([DriverBuffer.Writable(Buffers, 16), DriverBuffer.Readable(Buffers + 0x100, 16)]));

        AssertFault(VirtqueueFault.ReadableAfterWritable, queue);
    }

    [Theory]
    [InlineData(RamBytes - 8, 16)]
    [InlineData(0xFFFF_FFFF_0000UL, 16)]
    [InlineData(ulong.MaxValue - 4, 16)]
    public void A_buffer_outside_guest_ram_is_refused(ulong address, uint length)
    {
        var queue = Device();
        _driver.MakeAvailable(_driver.AddChain([DriverBuffer.Writable(address, length)]));

        AssertFault(VirtqueueFault.BufferOutsideRam, queue);
    }

    [Fact]
    public void An_indirect_table_outside_guest_ram_is_refused()
    {
        var queue = Device(indirect: true);
        _driver.WriteDescriptor(_driver.DescriptorTable, 0, RamBytes - SplitRing.DescriptorSize, 2 * SplitRing.DescriptorSize, SplitRing.DescriptorIndirect, 0);
        _driver.MakeAvailable(0);

        AssertFault(VirtqueueFault.BufferOutsideRam, queue);
    }

    [Fact]
    public void An_indirect_descriptor_inside_an_indirect_table_is_refused()
    {
        var queue = Device(indirect: true);
        ulong table = Buffers + 0x1000;
        _driver.WriteDescriptor(table, 0, Buffers + 0x2000, SplitRing.DescriptorSize, SplitRing.DescriptorIndirect, 0);
        _driver.WriteDescriptor(_driver.DescriptorTable, 0, table, SplitRing.DescriptorSize, SplitRing.DescriptorIndirect, 0);
        _driver.MakeAvailable(0);

        AssertFault(VirtqueueFault.NestedIndirect, queue);
    }

    [Fact]
    public void An_indirect_descriptor_with_next_is_refused()
    {
        var queue = Device(indirect: true);
        _driver.WriteDescriptor(_driver.DescriptorTable, 0, Buffers + 0x1000, SplitRing.DescriptorSize, SplitRing.DescriptorIndirect | SplitRing.DescriptorNext, 1);
        _driver.MakeAvailable(0);

        AssertFault(VirtqueueFault.IndirectWithNext, queue);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(17u)]
    [InlineData((uint)((Virtqueue.MaxIndirectDescriptors + 1) * SplitRing.DescriptorSize))]
    public void An_indirect_table_of_a_bad_length_is_refused(uint length)
    {
        var queue = Device(indirect: true);
        _driver.WriteDescriptor(_driver.DescriptorTable, 0, Buffers + 0x1000, length, SplitRing.DescriptorIndirect, 0);
        _driver.MakeAvailable(0);

        AssertFault(VirtqueueFault.IndirectTableSize, queue);
    }

    [Fact]
    public void A_chain_of_more_than_four_gibibytes_is_refused()
    {
        // 8192 descriptors each naming the same 1 MiB of RAM: the sum passes 2^32 - 1 long before the table ends.
        var queue = Device(indirect: true);
        const int count = 8192;
        ulong table = 0x10_0000;
        for (int i = 0; i < count; i++)
        {
            _driver.WriteDescriptor(table, (ushort)i, 0, 0x10_0000, SplitRing.DescriptorNext | SplitRing.DescriptorWrite, (ushort)(i + 1));
        }

        _driver.WriteDescriptor(_driver.DescriptorTable, 0, table, count * SplitRing.DescriptorSize, SplitRing.DescriptorIndirect, 0);
        _driver.MakeAvailable(0);

        AssertFault(VirtqueueFault.ChainTooLarge, queue);
    }

    [Fact]
    public void A_chain_made_available_again_while_held_is_refused()
    {
        var queue = Device();
        ushort head = _driver.AddChain([DriverBuffer.Writable(Buffers, 16)]);
        _driver.MakeAvailable(head);
        Assert.True(queue.TryPop(out _));
        _driver.MakeAvailable(head);

        AssertFault(VirtqueueFault.HeadInFlight, queue);
    }

    [Theory]
    [InlineData(0u, 0UL, VirtqueueFault.InvalidSize)]
    [InlineData(3u, 0UL, VirtqueueFault.InvalidSize)]
    [InlineData(512u, 0UL, VirtqueueFault.InvalidSize)]
    [InlineData(Size, 8UL, VirtqueueFault.MisalignedRing)]
    public void A_layout_the_rules_forbid_is_refused(uint size, ulong tableShift, VirtqueueFault fault)
    {
        var layout = new VirtqueueLayout(size, _driver.DescriptorTable + tableShift, _driver.AvailableRing, _driver.UsedRing);

        var ex = Assert.Throws<VirtqueueException>(() => layout.Validate(256, _dma));

        Assert.Equal(fault, ex.Fault);
    }

    [Theory]
    [InlineData(1UL, 0UL, VirtqueueFault.MisalignedRing)]
    [InlineData(0UL, 2UL, VirtqueueFault.MisalignedRing)]
    [InlineData(RamBytes, 0UL, VirtqueueFault.RingOutsideRam)]
    public void Misplaced_rings_are_refused(ulong availableShift, ulong usedShift, VirtqueueFault fault)
    {
        ulong available = availableShift == RamBytes ? RamBytes - 4 : _driver.AvailableRing + availableShift;
        var layout = new VirtqueueLayout(Size, _driver.DescriptorTable, available, _driver.UsedRing + usedShift);

        var ex = Assert.Throws<VirtqueueException>(() => layout.Validate(256, _dma));

        Assert.Equal(fault, ex.Fault);
    }

    [Fact]
    public void Completing_writes_the_used_element_then_the_used_index()
    {
        var queue = Device();
        ushort head = _driver.AddChain([DriverBuffer.Writable(Buffers, 100)]);
        _driver.MakeAvailable(head);
        Assert.True(queue.TryPop(out var chain));

        Assert.True(queue.Complete(chain, 42));

        Assert.Equal(1, _driver.UsedIndex);
        Assert.True(_driver.TryTakeUsed(out var used));
        Assert.Equal(new UsedElement(head, 42), used);
        Assert.Equal(0, queue.InFlightCount);
    }

    [Fact]
    public void A_used_length_beyond_the_writable_part_is_a_device_bug_not_a_used_entry()
    {
        var queue = Device();
        _driver.MakeAvailable(_driver.AddChain([DriverBuffer.Readable(Buffers, 16), DriverBuffer.Writable(Buffers + 0x100, 8)]));
        Assert.True(queue.TryPop(out var chain));

        Assert.Throws<InvalidOperationException>(() => queue.Complete(chain, 9));

        Assert.Equal(0, _driver.UsedIndex);
    }

    [Fact]
    public void A_retired_queue_writes_nothing()
    {
        var queue = Device();
        _driver.MakeAvailable(_driver.AddChain([DriverBuffer.Writable(Buffers, 8)]));
        Assert.True(queue.TryPop(out var chain));

        queue.Retire();

        Assert.False(queue.Complete(chain, 8));
        Assert.Equal(0, _driver.UsedIndex);
    }

    [Fact]
    public void Writes_into_a_chain_stop_at_the_end_of_its_writable_part()
    {
        var queue = Device();
        _driver.MakeAvailable(_driver.AddChain([DriverBuffer.Readable(Buffers, 4), DriverBuffer.Writable(Buffers + 0x100, 3), DriverBuffer.Writable(Buffers + 0x200, 2)]));
        Assert.True(queue.TryPop(out var chain));
        _dma.Write(Buffers, [9, 9, 9, 9]);

        int written = chain.Write(_dma, 1, [1, 2, 3, 4, 5, 6]);

        Assert.Equal(4, written);
        Assert.Equal([0, 1, 2, 0], Bytes(Buffers + 0x100, 4));
        Assert.Equal([3, 4, 0], Bytes(Buffers + 0x200, 3));
        Assert.Equal([9, 9, 9, 9], Bytes(Buffers, 4));
    }

    [Fact]
    public void Reads_from_a_chain_cross_buffers_and_stop_at_the_readable_part()
    {
        var queue = Device();
        _driver.MakeAvailable(_driver.AddChain([DriverBuffer.Readable(Buffers, 2), DriverBuffer.Readable(Buffers + 0x100, 3), DriverBuffer.Writable(Buffers + 0x200, 2)]));
        Assert.True(queue.TryPop(out var chain));
        _dma.Write(Buffers, [1, 2]);
        _dma.Write(Buffers + 0x100, [3, 4, 5]);
        _dma.Write(Buffers + 0x200, [6, 7]);
        var destination = new byte[8];

        int read = chain.Read(_dma, 1, destination);

        Assert.Equal(4, read);
        Assert.Equal([2, 3, 4, 5, 0, 0, 0, 0], destination);
    }

    [Fact]
    public void Without_event_index_the_device_sets_no_notify_while_it_works_and_clears_it_when_the_ring_is_empty()
    {
        var queue = Device(eventIndex: false);
        _driver.MakeAvailable(_driver.AddChain([DriverBuffer.Writable(Buffers, 8)]));
        _driver.MakeAvailable(_driver.AddChain([DriverBuffer.Writable(Buffers, 8)]));

        Assert.True(queue.TryPop(out _));
        Assert.Equal(SplitRing.UsedNoNotify, _driver.UsedFlags);
        Assert.True(queue.TryPop(out _));
        Assert.False(queue.TryPop(out _));

        Assert.Equal(0, _driver.UsedFlags);
    }

    [Fact]
    public void With_event_index_the_device_asks_to_be_notified_at_the_next_entry_once_the_ring_is_empty()
    {
        var queue = Device(eventIndex: true);
        _driver.MakeAvailable(_driver.AddChain([DriverBuffer.Writable(Buffers, 8)]));
        _driver.MakeAvailable(_driver.AddChain([DriverBuffer.Writable(Buffers, 8)]));

        while (queue.TryPop(out _))
        {
        }

        Assert.Equal(2, _driver.AvailableEvent);
        Assert.Equal(0, _driver.UsedFlags);
    }

    [Fact]
    public void A_chain_added_while_notifications_were_off_is_found_by_the_second_look()
    {
        var queue = Device(eventIndex: false);
        _driver.MakeAvailable(_driver.AddChain([DriverBuffer.Writable(Buffers, 8)]));
        Assert.True(queue.TryPop(out _));

        // The driver saw NO_NOTIFY and did not notify; the device still finds the chain.
        _driver.MakeAvailable(_driver.AddChain([DriverBuffer.Writable(Buffers, 8)]));

        Assert.True(queue.TryPop(out _));
    }

    [Fact]
    public void Without_event_index_no_interrupt_suppresses_used_buffer_notifications()
    {
        var queue = Device(eventIndex: false);
        PopAndComplete(queue);
        Assert.True(queue.DecideInterrupt());

        _driver.SetAvailableFlags(SplitRing.AvailableNoInterrupt);
        PopAndComplete(queue);

        Assert.False(queue.DecideInterrupt());
    }

    [Fact]
    public void With_event_index_a_notification_is_due_only_when_the_used_index_passes_used_event()
    {
        var queue = Device(eventIndex: true);
        _driver.SetUsedEvent(1);
        PopAndComplete(queue);

        // used idx 0 -> 1 does not pass used_event 1 (the driver wants to hear once entry 1 is used).
        Assert.False(queue.DecideInterrupt());

        PopAndComplete(queue);

        Assert.True(queue.DecideInterrupt());
        Assert.False(queue.DecideInterrupt());
    }

    [Theory]
    [InlineData(0, 1, 0, true)]
    [InlineData(0, 2, 1, false)]
    [InlineData(5, 7, 4, true)]
    [InlineData(65535, 0, 65534, true)]
    [InlineData(10, 3, 2, false)]
    public void Need_event_follows_the_specified_wrapping_formula(int eventIndex, int newIndex, int oldIndex, bool expected) =>
        Assert.Equal(expected, SplitRing.NeedsEvent((ushort)eventIndex, (ushort)newIndex, (ushort)oldIndex));

    private Virtqueue Device(bool eventIndex = false, bool indirect = true)
    {
        var queue = new Virtqueue(0, new VirtqueueLayout(Size, _driver.DescriptorTable, _driver.AvailableRing, _driver.UsedRing), _dma, eventIndex, indirect, 0, 0, []);
        queue.Start();
        return queue;
    }

    private void PopAndComplete(Virtqueue queue)
    {
        _driver.MakeAvailable(_driver.AddChain([DriverBuffer.Writable(Buffers, 8)]));
        Assert.True(queue.TryPop(out var chain));
        queue.Complete(chain, 0);
        Assert.True(_driver.TryTakeUsed(out _));
    }

    private static void AssertFault(VirtqueueFault fault, Virtqueue queue)
    {
        ushort before = queue.NextAvailable;
        var ex = Assert.Throws<VirtqueueException>(() => queue.TryPop(out _));
        Assert.Equal(fault, ex.Fault);
        Assert.Equal(before, queue.NextAvailable);
    }

    private byte[] Bytes(ulong address, int length)
    {
        var bytes = new byte[length];
        _dma.Read(address, bytes);
        return bytes;
    }
}
