using ActorVmm.Devices.Virtio;
using ActorVmm.Devices.Virtio.Console;
using ActorVmm.Devices.Virtio.Mmio;
using ActorVmm.Devices.Virtio.Queues;
using ActorVmm.TestSupport.Virtio;
using static ActorVmm.Devices.Tests.Virtio.VirtioRigs;
using R = ActorVmm.Devices.Virtio.Mmio.VirtioMmioRegisters;

namespace ActorVmm.Devices.Tests.Virtio;

public sealed class VirtioMmioTransportTests
{
    [Fact]
    public void The_device_identifies_itself_as_a_version_2_virtio_mmio_device()
    {
        using var machine = Rng();

        Assert.Equal(R.Magic, machine.Driver.Read(R.MagicValue));
        Assert.Equal(R.Version2, machine.Driver.Read(R.Version));
        Assert.Equal((uint)VirtioDeviceType.Entropy, machine.Driver.Read(R.DeviceId));
        Assert.Equal(R.ActorVmmVendor, machine.Driver.Read(R.VendorId));
    }

    [Fact]
    public void Device_features_are_offered_32_bits_at_a_time()
    {
        using var machine = Rng();

        Assert.Equal(VirtioFeatures.Offered, machine.Driver.DeviceFeatures);
        machine.Driver.Write(R.DeviceFeaturesSel, 2);
        Assert.Equal(0u, machine.Driver.Read(R.DeviceFeatures));
    }

    [Fact]
    public void Features_without_version_1_are_refused_and_features_ok_stays_clear()
    {
        using var machine = Rng();

        Assert.Null(machine.Driver.Negotiate(VirtioFeatures.EventIndex));

        Assert.Equal(VirtioStatus.Acknowledge | VirtioStatus.Driver, machine.Driver.Status);
        Assert.Equal(1, machine.Device.Counters.RefusedFeatures);
    }

    [Fact]
    public void Features_the_device_did_not_offer_are_refused()
    {
        using var machine = Rng();
        machine.Driver.Negotiate(0);
        machine.Driver.Reset();
        machine.Driver.Write(R.Status, VirtioStatus.Acknowledge | VirtioStatus.Driver);
        machine.Driver.WriteDriverFeatures(VirtioFeatures.Version1 | (1UL << 3));

        machine.Driver.Write(R.Status, VirtioStatus.Acknowledge | VirtioStatus.Driver | VirtioStatus.FeaturesOk);

        Assert.Equal(0, machine.Driver.Status & VirtioStatus.FeaturesOk);
    }

    [Fact]
    public void Driver_features_cannot_change_after_features_ok()
    {
        using var machine = Rng();
        Assert.Equal(VirtioFeatures.Version1, machine.Driver.Negotiate(VirtioFeatures.Version1));

        machine.Driver.WriteDriverFeatures(RingFeatures);

        Assert.Equal(VirtioFeatures.Version1, machine.Device.Core.DriverFeatures);
    }

    [Fact]
    public void A_status_write_that_clears_a_bit_is_ignored_and_driver_ok_needs_features_ok()
    {
        using var machine = Rng();
        machine.Driver.Write(R.Status, VirtioStatus.Acknowledge | VirtioStatus.Driver);

        machine.Driver.Write(R.Status, VirtioStatus.Acknowledge);
        Assert.Equal(VirtioStatus.Acknowledge | VirtioStatus.Driver, machine.Driver.Status);

        machine.Driver.Write(R.Status, VirtioStatus.Acknowledge | VirtioStatus.Driver | VirtioStatus.DriverOk);
        Assert.Equal(VirtioStatus.Acknowledge | VirtioStatus.Driver, machine.Driver.Status);
    }

    [Fact]
    public void Writing_zero_to_status_returns_every_queue_feature_and_interrupt_to_power_on()
    {
        using var machine = Rng();
        var queue = Start(machine)[0];
        queue.MakeAvailable(queue.AddChain([DriverBuffer.Writable(Buffers, 8)]));
        machine.Driver.Notify(0);
        machine.RunSlowPath();
        Assert.True(machine.Line.Level);

        machine.Driver.Reset();

        Assert.Equal(0, machine.Driver.Status);
        Assert.Equal(0u, machine.Driver.Read(R.QueueReady));
        Assert.Equal(0u, machine.Driver.Read(R.InterruptStatus));
        Assert.False(machine.Line.Level);
        Assert.Equal(0UL, machine.Device.Core.DriverFeatures);
        Assert.False(machine.Device.Core.IsRunning);
        Assert.Equal(machine.Device.Core.QueueMaxSize(0), machine.Device.Core.QueueSize(0));
    }

    [Fact]
    public void Queue_size_and_addresses_cannot_change_while_the_queue_is_enabled()
    {
        using var machine = Rng();
        var queue = Start(machine)[0];
        long ignored = machine.Device.Counters.IgnoredRegisterAccesses;

        machine.Driver.Write(R.QueueSel, 0);
        machine.Driver.Write(R.QueueNum, 4);
        machine.Driver.Write(R.QueueDescLow, 0x5000);

        Assert.Equal((uint)QueueSize, machine.Device.Core.QueueSize(0));
        Assert.Equal(queue.DescriptorTable, machine.Device.Core.QueueAddress(0, VirtqueueArea.Descriptor));
        Assert.Equal(ignored + 2, machine.Device.Counters.IgnoredRegisterAccesses);
    }

    [Theory]
    [InlineData(1u)]
    [InlineData(uint.MaxValue)]
    public void A_queue_the_device_does_not_have_reads_size_max_zero(uint queue)
    {
        using var machine = Rng();

        machine.Driver.Write(R.QueueSel, queue);

        Assert.Equal(0u, machine.Driver.Read(R.QueueNumMax));
        Assert.Equal(0u, machine.Driver.Read(R.QueueReady));
        machine.Driver.Write(R.QueueReady, 1);
        Assert.Equal(0u, machine.Driver.Read(R.QueueReady));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(8)]
    public void Register_accesses_of_other_widths_read_zero_and_write_nothing(int width)
    {
        using var machine = Rng();
        machine.Driver.Write(R.Status, VirtioStatus.Acknowledge);

        Assert.Equal(0UL, machine.Driver.Access(R.MagicValue, width, null));
        machine.Driver.Access(R.Status, width, 0);

        Assert.Equal(VirtioStatus.Acknowledge, machine.Driver.Status);
        Assert.Equal(2, machine.Device.Counters.IgnoredRegisterAccesses);
    }

    [Fact]
    public void A_misaligned_register_access_reads_zero_and_writes_nothing()
    {
        using var machine = Rng();
        machine.Driver.Write(R.Status, VirtioStatus.Acknowledge);

        Assert.Equal(0UL, machine.Driver.Access(R.MagicValue + 1, R.RegisterWidth, null));
        machine.Driver.Access(R.Status + 2, R.RegisterWidth, 0);

        Assert.Equal(VirtioStatus.Acknowledge, machine.Driver.Status);
    }

    [Fact]
    public void Write_only_registers_read_zero_and_read_only_registers_ignore_writes()
    {
        using var machine = Rng();

        Assert.Equal(0u, machine.Driver.Read(R.QueueNotify));
        Assert.Equal(0u, machine.Driver.Read(R.DriverFeatures));
        machine.Driver.Write(R.MagicValue, 0);
        machine.Driver.Write(R.InterruptStatus, 3);

        Assert.Equal(R.Magic, machine.Driver.Read(R.MagicValue));
        Assert.Equal(0u, machine.Driver.Read(R.InterruptStatus));
    }

    [Fact]
    public void There_are_no_shared_memory_regions()
    {
        using var machine = Rng();
        machine.Driver.Write(R.ShmSel, 0);

        Assert.Equal(uint.MaxValue, machine.Driver.Read(R.ShmLenLow));
        Assert.Equal(uint.MaxValue, machine.Driver.Read(R.ShmLenHigh));
        Assert.Equal(uint.MaxValue, machine.Driver.Read(R.ShmBaseLow));
        Assert.Equal(uint.MaxValue, machine.Driver.Read(R.ShmBaseHigh));
        Assert.Equal(0u, machine.Driver.Read(R.QueueReset));
    }

    [Theory]
    [InlineData(VirtioConsole.MaxPortsOffset, 4, 1UL)]
    [InlineData(VirtioConsole.MaxPortsOffset, 2, 1UL)]
    [InlineData(VirtioConsole.MaxPortsOffset, 1, 1UL)]
    [InlineData(VirtioConsole.MaxPortsOffset + 1, 1, 0UL)]
    [InlineData(VirtioConsole.RowsOffset, 8, 0x1_0000UL)]
    [InlineData(VirtioConsole.ConfigBytes, 4, 0UL)]
    [InlineData(VirtioConsole.ConfigBytes + 4, 8, 0UL)]
    public void The_configuration_space_takes_any_width(int offset, int width, ulong expected)
    {
        using var machine = ConsoleMachine(new CollectingOutput());

        Assert.Equal(expected, machine.Driver.ReadConfig(offset, width));
        Assert.Equal(0u, machine.Driver.Read(R.ConfigGeneration));
    }

    [Fact]
    public void A_notification_only_posts_to_the_slow_path_which_then_does_the_work()
    {
        using var machine = Rng();
        var queue = Start(machine)[0];
        ushort head = queue.AddChain([DriverBuffer.Writable(Buffers, 8)]);
        queue.MakeAvailable(head);

        machine.Driver.Notify(0);

        Assert.Equal(0, queue.UsedIndex);
        Assert.Equal(0u, machine.Driver.Read(R.InterruptStatus));
        Assert.Equal(1, machine.Mailbox.Count);

        machine.RunSlowPath();

        Assert.True(queue.TryTakeUsed(out var used));
        Assert.Equal(new UsedElement(head, 8), used);
        Assert.Equal(R.InterruptUsedBuffer, machine.Driver.Read(R.InterruptStatus));
        Assert.True(machine.Line.Level);
        Assert.Equal(R.InterruptUsedBuffer, machine.Driver.AcknowledgeInterrupts());
        Assert.False(machine.Line.Level);
    }

    [Fact]
    public void A_notification_for_a_queue_the_device_does_not_have_is_dropped()
    {
        using var machine = Rng();
        Start(machine);

        machine.Driver.Notify(7);

        Assert.Equal(0, machine.Mailbox.Count);
    }

    [Fact]
    public void Each_used_buffer_event_gives_an_edge_even_before_the_driver_acknowledges()
    {
        // Without VIRTIO_F_EVENT_IDX (and with NO_INTERRUPT clear) every batch of used buffers is notified.
        using var machine = Rng();
        var queue = Start(machine, VirtioFeatures.Version1)[0];
        int edges = machine.Line.RisingEdges;

        for (int i = 0; i < 2; i++)
        {
            queue.MakeAvailable(queue.AddChain([DriverBuffer.Writable(Buffers, 8)]));
            machine.Driver.Notify(0);
            machine.RunSlowPath();
        }

        Assert.Equal(edges + 2, machine.Line.RisingEdges);
    }

    [Fact]
    public void Buffers_made_available_before_driver_ok_are_taken_once_it_is_set()
    {
        using var machine = Rng();
        var arena = new GuestArena(RingArea, Buffers);
        machine.Driver.Negotiate(RingFeatures);
        var queue = DriverQueue.Allocate(machine.Dma, arena, QueueSize);
        machine.Driver.SetUpQueue(0, queue);
        queue.MakeAvailable(queue.AddChain([DriverBuffer.Writable(Buffers, 4)]));
        machine.Driver.Notify(0);
        machine.RunSlowPath();
        Assert.Equal(0, queue.UsedIndex);

        machine.Driver.DriverOk();
        machine.RunSlowPath();

        Assert.Equal(1, queue.UsedIndex);
    }

    [Fact]
    public void A_malformed_chain_sets_needs_reset_raises_a_configuration_interrupt_and_is_counted()
    {
        using var machine = Rng();
        var queue = Start(machine)[0];
        queue.WriteDescriptor(queue.DescriptorTable, 0, Buffers, 8, SplitRing.DescriptorNext | SplitRing.DescriptorWrite, 0);
        queue.MakeAvailable(0);

        machine.Driver.Notify(0);
        machine.RunSlowPath();

        Assert.Equal(VirtioStatus.DeviceNeedsReset, machine.Driver.Status & VirtioStatus.DeviceNeedsReset);
        Assert.Equal(R.InterruptConfigChange, machine.Driver.Read(R.InterruptStatus));
        Assert.True(machine.Line.Level);
        Assert.Equal(1, machine.Device.Counters.MalformedQueues);
        Assert.Equal(1, machine.Device.Counters.DeviceErrors);
        Assert.Equal(0, queue.UsedIndex);

        // Nothing more is taken until the driver resets the device.
        machine.Driver.Notify(0);
        machine.RunSlowPath();
        Assert.Equal(1, machine.Device.Counters.MalformedQueues);
    }

    [Fact]
    public void A_device_that_needed_a_reset_works_again_after_one()
    {
        using var machine = Rng();
        var broken = Start(machine)[0];
        broken.MakeAvailable(QueueSize);
        machine.Driver.Notify(0);
        machine.RunSlowPath();
        Assert.NotEqual(0, machine.Driver.Status & VirtioStatus.DeviceNeedsReset);
        machine.Driver.AcknowledgeInterrupts();

        var queue = Start(machine)[0];
        queue.MakeAvailable(queue.AddChain([DriverBuffer.Writable(Buffers, 8)]));
        machine.Driver.Notify(0);
        machine.RunSlowPath();

        Assert.Equal(1, queue.UsedIndex);
        Assert.Equal(0, machine.Driver.Status & VirtioStatus.DeviceNeedsReset);
    }

    [Fact]
    public void A_queue_enabled_with_a_misaligned_used_ring_makes_driver_ok_end_in_needs_reset()
    {
        using var machine = Rng();
        machine.Driver.Negotiate(RingFeatures);
        machine.Driver.SetUpQueue(0, new DriverQueue(machine.Dma, QueueSize, RingArea, RingArea + 0x400, RingArea + 0x802));

        machine.Driver.DriverOk();

        Assert.NotEqual(0, machine.Driver.Status & VirtioStatus.DeviceNeedsReset);
        Assert.Equal(1, machine.Device.Counters.MalformedQueues);
        Assert.Equal(R.InterruptConfigChange, machine.Driver.Read(R.InterruptStatus));
    }

    [Fact]
    public void A_disabled_queue_is_no_longer_touched()
    {
        using var machine = Rng();
        var queue = Start(machine)[0];
        machine.Driver.Write(R.QueueSel, 0);
        machine.Driver.Write(R.QueueReady, 0);
        Assert.Equal(0u, machine.Driver.Read(R.QueueReady));

        queue.MakeAvailable(queue.AddChain([DriverBuffer.Writable(Buffers, 8)]));
        machine.Driver.Notify(0);
        machine.RunSlowPath();

        Assert.Equal(0, queue.UsedIndex);
    }

    [Fact]
    public void The_allocator_hands_out_consecutive_windows_of_the_virtio_window_with_their_lines()
    {
        var allocator = new VirtioMmioAllocator(Machine.Layout.MemoryMap.X86, [5, 6]);

        var first = allocator.Allocate();
        var second = allocator.Allocate();

        Assert.Equal(new VirtioMmioSlot(Machine.Layout.X86MemoryMap.VirtioMmioBase, R.WindowSize, 5), first);
        Assert.Equal(new VirtioMmioSlot(Machine.Layout.X86MemoryMap.VirtioMmioBase + R.WindowSize, R.WindowSize, 6), second);
        Assert.Equal("virtio_mmio.device=512@0xfe000000:5", first.KernelParameter);
        Assert.Throws<InvalidOperationException>(allocator.Allocate);
    }

    [Fact]
    public void The_allocator_stays_inside_the_window_of_the_arm64_map()
    {
        var map = Machine.Layout.MemoryMap.Arm64;
        var window = map.Region(VirtioMmioAllocator.WindowName);
        var allocator = new VirtioMmioAllocator(map, [.. Enumerable.Range(32, 64)]);

        var slots = Enumerable.Range(0, allocator.Capacity).Select(_ => allocator.Allocate()).ToList();

        Assert.All(slots, slot => Assert.True(window.Contains(slot.Base) && window.Contains(slot.Base + slot.Size - 1)));
        Assert.Equal(64, slots.Count);
    }
}
