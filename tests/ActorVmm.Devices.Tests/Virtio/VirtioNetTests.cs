using System.Buffers.Binary;
using ActorVmm.Devices.Virtio;
using ActorVmm.Devices.Virtio.Mmio;
using ActorVmm.Devices.Virtio.Net;
using ActorVmm.Devices.Virtio.Queues;
using ActorVmm.TestSupport.Virtio;
using static ActorVmm.Devices.Tests.Virtio.VirtioRigs;
using static ActorVmm.Devices.Virtio.Net.VirtioNetProtocol;

namespace ActorVmm.Devices.Tests.Virtio;

public sealed class VirtioNetTests : IDisposable
{
    private static readonly MacAddress GuestMac = MacAddress.FromBytes([0x02, 0x00, 0x5E, 0x10, 0x20, 0x30]);
    private readonly FakeNetworkTap _tap = new();
    private readonly VirtioNetCounters _counters = new();
    private readonly VirtioTestMachine _machine;

    public VirtioNetTests()
    {
        _machine = new VirtioTestMachine(Ram, _ => new VirtioNet(_tap, GuestMac, _counters));
    }

    public void Dispose() => _machine.Dispose();

    [Fact]
    public void The_configuration_space_holds_the_mac_and_a_link_that_is_up_and_no_offload_is_offered()
    {
        ulong offered = _machine.Driver.DeviceFeatures;
        var mac = new byte[MacAddress.Length];
        for (int i = 0; i < mac.Length; i++)
        {
            mac[i] = (byte)_machine.Driver.ReadConfig(ConfigMac + i, 1);
        }

        Assert.Equal((uint)VirtioDeviceType.Network, _machine.Driver.Read(VirtioMmioRegisters.DeviceId));
        Assert.Equal(GuestMac, MacAddress.FromBytes(mac));
        Assert.Equal(StatusLinkUp, (ushort)_machine.Driver.ReadConfig(ConfigStatus, sizeof(ushort)));
        Assert.Equal(OfferedFeatures | VirtioFeatures.Offered, offered);
        Assert.Equal(0UL, offered & (FeatureChecksum | FeatureGuestChecksum | FeatureGuestTso4 | FeatureHostTso4 | FeatureMergeableRxBuffers | FeatureControlQueue | FeatureMultiQueue));
    }

    [Fact]
    public void A_driver_write_to_the_mac_is_ignored()
    {
        _machine.Driver.Access(VirtioMmioRegisters.Config + ConfigMac, sizeof(uint), 0xFFFF_FFFF);

        Assert.Equal(0x02UL, _machine.Driver.ReadConfig(ConfigMac, 1));
    }

    [Fact]
    public void Transmitted_frames_reach_the_tap_without_the_header_in_order_and_come_back_with_length_zero()
    {
        var transmit = Start(_machine, queues: 2)[TransmitQueue];
        byte[] first = Frame(60, 1);
        byte[] second = Frame(1514, 2);
        ushort a = Offer(transmit, Buffers, first, splitHeader: false);
        ushort b = Offer(transmit, Buffers + 0x1000, second, splitHeader: true);

        _machine.Driver.Notify(TransmitQueue);
        _machine.RunSlowPath();

        Assert.Equal([first, second], _tap.Sent);
        Assert.True(transmit.TryTakeUsed(out var usedA));
        Assert.True(transmit.TryTakeUsed(out var usedB));
        Assert.Equal(new UsedElement(a, 0), usedA);
        Assert.Equal(new UsedElement(b, 0), usedB);
        Assert.Equal(2, _counters.FramesSent);
        Assert.NotEqual(0u, _machine.Device.InterruptStatus & VirtioMmioRegisters.InterruptUsedBuffer);
    }

    [Theory]
    [InlineData(HeaderBytes + MinFrameBytes - 1, 0, GsoNone)]
    [InlineData(HeaderBytes + MaxFrameBytes + 1, 0, GsoNone)]
    [InlineData(HeaderBytes + 100, HeaderFlagNeedsChecksum, GsoNone)]
    [InlineData(HeaderBytes + 100, 0, 1)]
    public void A_transmit_chain_with_a_bad_size_or_an_offload_request_is_dropped_and_counted_and_the_queue_stays_healthy(int readable, byte flags, byte gsoType)
    {
        var transmit = Start(_machine, queues: 2)[TransmitQueue];
        var packet = new byte[readable];
        packet[HeaderFlagsOffset] = flags;
        packet[HeaderGsoTypeOffset] = gsoType;
        _machine.Dma.Write(Buffers, packet);
        ushort head = transmit.AddChain([DriverBuffer.Readable(Buffers, (uint)readable)]);
        transmit.MakeAvailable(head);
        byte[] good = Frame(64, 9);
        Offer(transmit, Buffers + 0x2_0000, good, splitHeader: false);

        _machine.Driver.Notify(TransmitQueue);
        _machine.RunSlowPath();

        Assert.Equal([good], _tap.Sent);
        Assert.Equal(1, _counters.BadTransmits);
        Assert.Equal(1, _machine.Device.Counters.BadRequests);
        Assert.True(transmit.TryTakeUsed(out var used));
        Assert.Equal(new UsedElement(head, 0), used);
        Assert.Equal(0, _machine.Driver.Status & VirtioStatus.DeviceNeedsReset);
    }

    [Fact]
    public void A_frame_the_tap_refuses_is_dropped_and_counted_and_its_chain_returned()
    {
        var transmit = Start(_machine, queues: 2)[TransmitQueue];
        _tap.RefuseSends = true;
        ushort head = Offer(transmit, Buffers, Frame(64, 3), splitHeader: false);

        _machine.Driver.Notify(TransmitQueue);
        _machine.RunSlowPath();

        Assert.Equal(1, _counters.SendRefused);
        Assert.True(transmit.TryTakeUsed(out var used));
        Assert.Equal(new UsedElement(head, 0), used);
    }

    [Fact]
    public void A_received_frame_fills_a_receive_buffer_behind_a_header_with_num_buffers_one()
    {
        var receive = Start(_machine, queues: 2)[ReceiveQueue];
        _machine.Dma.Write(Buffers, Enumerable.Repeat((byte)0xEE, HeaderBytes).ToArray());
        ushort head = receive.AddChain([DriverBuffer.Writable(Buffers, 1526)]);
        receive.MakeAvailable(head);
        byte[] frame = Frame(98, 4);
        _tap.Deliver(frame);

        _machine.Driver.Notify(ReceiveQueue);
        _machine.RunSlowPath();

        Assert.True(receive.TryTakeUsed(out var used));
        Assert.Equal(new UsedElement(head, (uint)(HeaderBytes + frame.Length)), used);
        byte[] header = Bytes(_machine, Buffers, HeaderBytes);
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(HeaderNumBuffersOffset)));
        Assert.All(header[..HeaderNumBuffersOffset], b => Assert.Equal(0, b));
        Assert.Equal(frame, Bytes(_machine, Buffers + HeaderBytes, frame.Length));
        Assert.Equal(1, _counters.FramesReceived);
        Assert.NotEqual(0u, _machine.Device.InterruptStatus & VirtioMmioRegisters.InterruptUsedBuffer);
    }

    [Fact]
    public void A_frame_spread_over_several_writable_descriptors_lands_in_order()
    {
        var receive = Start(_machine, queues: 2)[ReceiveQueue];
        ushort head = receive.AddChain([DriverBuffer.Writable(Buffers, 10), DriverBuffer.Writable(Buffers + 0x1000, 50), DriverBuffer.Writable(Buffers + 0x2000, 1500)]);
        receive.MakeAvailable(head);
        byte[] frame = Frame(200, 5);
        _tap.Deliver(frame);

        _machine.Driver.Notify(ReceiveQueue);
        _machine.RunSlowPath();

        Assert.True(receive.TryTakeUsed(out var used));
        Assert.Equal((uint)(HeaderBytes + frame.Length), used.Length);
        byte[] packet = [.. Bytes(_machine, Buffers, 10), .. Bytes(_machine, Buffers + 0x1000, 50), .. Bytes(_machine, Buffers + 0x2000, 152)];
        Assert.Equal(frame, packet[HeaderBytes..]);
    }

    [Fact]
    public void Without_receive_buffers_frames_stay_in_the_tap_until_the_guest_gives_buffers()
    {
        var receive = Start(_machine, queues: 2)[ReceiveQueue];
        byte[] first = Frame(60, 6);
        byte[] second = Frame(70, 7);
        _tap.Deliver(first);
        _tap.Deliver(second);
        _machine.Driver.Notify(ReceiveQueue);
        _machine.RunSlowPath();

        Assert.Equal(2, _tap.WaitingFrames);
        Assert.Equal(0, _tap.ReadableRequests);
        Assert.False(receive.TryTakeUsed(out _));

        for (int i = 0; i < 2; i++)
        {
            receive.MakeAvailable(receive.AddChain([DriverBuffer.Writable(Buffers + ((ulong)i * 0x1000), 1526)]));
        }

        _machine.Driver.Notify(ReceiveQueue);
        _machine.RunSlowPath();

        Assert.Equal(0, _tap.WaitingFrames);
        Assert.True(receive.TryTakeUsed(out var a));
        Assert.True(receive.TryTakeUsed(out var b));
        Assert.Equal(first, Bytes(_machine, Buffers + HeaderBytes, (int)a.Length - HeaderBytes));
        Assert.Equal(second, Bytes(_machine, Buffers + 0x1000 + HeaderBytes, (int)b.Length - HeaderBytes));
    }

    [Fact]
    public void A_buffer_without_a_frame_is_held_and_the_tap_callback_delivers_the_next_frame_from_the_slow_path()
    {
        var receive = Start(_machine, queues: 2)[ReceiveQueue];
        ushort head = receive.AddChain([DriverBuffer.Writable(Buffers, 1526)]);
        receive.MakeAvailable(head);
        _machine.Driver.Notify(ReceiveQueue);
        _machine.RunSlowPath();
        Assert.True(_tap.IsWaitingForFrame);
        Assert.False(receive.TryTakeUsed(out _));

        byte[] frame = Frame(42 + MinFrameBytes, 8);
        _tap.Deliver(frame);
        Assert.Equal(1, _machine.Mailbox.Count);
        _machine.RunSlowPath();

        Assert.True(receive.TryTakeUsed(out var used));
        Assert.Equal(new UsedElement(head, (uint)(HeaderBytes + frame.Length)), used);
        Assert.Equal(frame, Bytes(_machine, Buffers + HeaderBytes, frame.Length));
    }

    [Fact]
    public void A_frame_larger_than_the_buffer_is_dropped_and_counted_and_the_buffer_takes_the_next_frame()
    {
        var receive = Start(_machine, queues: 2)[ReceiveQueue];
        ushort head = receive.AddChain([DriverBuffer.Writable(Buffers, 200)]);
        receive.MakeAvailable(head);
        byte[] small = Frame(100, 10);
        _tap.Deliver(Frame(200 - HeaderBytes + 1, 11));
        _tap.Deliver(small);

        _machine.Driver.Notify(ReceiveQueue);
        _machine.RunSlowPath();

        Assert.Equal(1, _counters.ReceiveTooLarge);
        Assert.True(receive.TryTakeUsed(out var used));
        Assert.Equal(new UsedElement(head, (uint)(HeaderBytes + small.Length)), used);
        Assert.Equal(small, Bytes(_machine, Buffers + HeaderBytes, small.Length));
    }

    [Fact]
    public void A_receive_buffer_smaller_than_the_header_comes_back_empty_and_the_frame_goes_to_the_next()
    {
        var receive = Start(_machine, queues: 2)[ReceiveQueue];
        ushort tiny = receive.AddChain([DriverBuffer.Writable(Buffers, HeaderBytes - 1)]);
        ushort good = receive.AddChain([DriverBuffer.Writable(Buffers + 0x1000, 1526)]);
        receive.MakeAvailable(tiny);
        receive.MakeAvailable(good);
        byte[] frame = Frame(60, 12);
        _tap.Deliver(frame);

        _machine.Driver.Notify(ReceiveQueue);
        _machine.RunSlowPath();

        Assert.True(receive.TryTakeUsed(out var first));
        Assert.True(receive.TryTakeUsed(out var second));
        Assert.Equal(new UsedElement(tiny, 0), first);
        Assert.Equal(new UsedElement(good, (uint)(HeaderBytes + frame.Length)), second);
        Assert.Equal(1, _counters.ReceiveBuffersTooSmall);
    }

    [Fact]
    public void A_malformed_receive_chain_sets_device_needs_reset_with_a_configuration_interrupt_and_the_frame_stays_in_the_tap()
    {
        var receive = Start(_machine, queues: 2)[ReceiveQueue];
        receive.WriteDescriptor(receive.DescriptorTable, 0, Buffers, 1526, (ushort)(SplitRing.DescriptorWrite | SplitRing.DescriptorNext), (ushort)(VirtioRigs.QueueSize + 3));
        receive.MakeAvailable(0);
        _tap.Deliver(Frame(60, 13));

        _machine.Driver.Notify(ReceiveQueue);
        _machine.RunSlowPath();

        Assert.NotEqual(0, _machine.Driver.Status & VirtioStatus.DeviceNeedsReset);
        Assert.NotEqual(0u, _machine.Device.InterruptStatus & VirtioMmioRegisters.InterruptConfigChange);
        Assert.Equal(1, _machine.Device.Counters.MalformedQueues);
        Assert.Equal(1, _tap.WaitingFrames);
    }

    [Fact]
    public void A_malformed_chain_met_while_handling_the_tap_callback_sets_device_needs_reset_and_the_message_counts_as_handled()
    {
        var receive = Start(_machine, queues: 2)[ReceiveQueue];
        ushort good = receive.AddChain([DriverBuffer.Writable(Buffers, 1526)]);
        receive.MakeAvailable(good);
        _machine.Driver.Notify(ReceiveQueue);
        _machine.RunSlowPath();
        ushort bad = receive.AddChain([DriverBuffer.Writable(Buffers + 0x1000, 1526)]);
        receive.WriteDescriptor(receive.DescriptorTable, bad, Buffers + 0x1000, 1526, (ushort)(SplitRing.DescriptorWrite | SplitRing.DescriptorNext), (ushort)(VirtioRigs.QueueSize + 1));
        receive.MakeAvailable(bad);

        _tap.Deliver(Frame(60, 16));
        _tap.Deliver(Frame(60, 17));
        _machine.RunSlowPath();

        Assert.True(receive.TryTakeUsed(out var used));
        Assert.Equal(good, (ushort)used.Id);
        Assert.NotEqual(0, _machine.Driver.Status & VirtioStatus.DeviceNeedsReset);
        Assert.Equal(1, _tap.WaitingFrames);
    }

    [Fact]
    public void A_malformed_transmit_chain_sets_device_needs_reset_and_nothing_is_sent()
    {
        var transmit = Start(_machine, queues: 2)[TransmitQueue];
        transmit.WriteDescriptor(transmit.DescriptorTable, 0, Buffers, 64, SplitRing.DescriptorWrite | SplitRing.DescriptorNext, 1);
        transmit.WriteDescriptor(transmit.DescriptorTable, 1, Buffers + 0x100, 64, 0, 0);
        transmit.MakeAvailable(0);

        _machine.Driver.Notify(TransmitQueue);
        _machine.RunSlowPath();

        Assert.NotEqual(0, _machine.Driver.Status & VirtioStatus.DeviceNeedsReset);
        Assert.Empty(_tap.Sent);
    }

    [Fact]
    public void A_receive_buffer_held_at_capture_is_held_again_by_the_rebuilt_device_and_gets_the_next_frame()
    {
        var receive = Start(_machine, queues: 2)[ReceiveQueue];
        ushort head = receive.AddChain([DriverBuffer.Writable(Buffers, 1526)]);
        receive.MakeAvailable(head);
        _machine.Driver.Notify(ReceiveQueue);
        _machine.RunSlowPath();
        var state = (VirtioMmioState)_machine.Device.CaptureState();
        Assert.Equal([head], state.Core.Queues[ReceiveQueue].InFlight);

        _machine.Rebuild(state);
        _machine.RunSlowPath();
        byte[] frame = Frame(60, 14);
        _tap.Deliver(frame);
        _machine.RunSlowPath();

        Assert.True(receive.TryTakeUsed(out var used));
        Assert.Equal(new UsedElement(head, (uint)(HeaderBytes + frame.Length)), used);
        Assert.False(receive.TryTakeUsed(out _));
        Assert.Equal(0, _machine.Driver.Status & VirtioStatus.DeviceNeedsReset);
    }

    [Fact]
    public void After_a_driver_reset_a_late_tap_callback_touches_nothing_and_frames_wait_for_the_next_start()
    {
        var receive = Start(_machine, queues: 2)[ReceiveQueue];
        receive.MakeAvailable(receive.AddChain([DriverBuffer.Writable(Buffers, 1526)]));
        _machine.Driver.Notify(ReceiveQueue);
        _machine.RunSlowPath();
        ushort usedBefore = receive.UsedIndex;

        _machine.Driver.Reset();
        _tap.Deliver(Frame(60, 15));
        _machine.RunSlowPath();

        Assert.Equal(usedBefore, receive.UsedIndex);
        Assert.Equal(1, _tap.WaitingFrames);
    }

    [Fact]
    public void More_frames_than_one_pass_takes_are_all_delivered_through_follow_up_messages()
    {
        var receive = Start(_machine, queues: 2)[ReceiveQueue];
        const int frames = VirtioNet.MaxFramesPerPass + 5;
        for (int i = 0; i < frames; i++)
        {
            _tap.Deliver(Frame(60, (byte)i));
        }

        int received = 0;
        while (received < frames)
        {
            // The driver keeps the ring topped up, as Linux refills after each interrupt.
            while (receive.FreeDescriptors > 0)
            {
                receive.MakeAvailable(receive.AddChain([DriverBuffer.Writable(Buffers + ((ulong)(received + receive.FreeDescriptors) * 0x800), 1526)]));
            }

            _machine.Driver.Notify(ReceiveQueue);
            Assert.True(_machine.RunSlowPath() > 0);
            while (receive.TryTakeUsed(out _))
            {
                received++;
            }
        }

        Assert.Equal(frames, _counters.FramesReceived);
        Assert.Equal(0, _tap.WaitingFrames);
    }

    /// <summary>An Ethernet frame of <paramref name="length"/> bytes whose bytes follow <paramref name="seed"/>.</summary>
    private static byte[] Frame(int length, byte seed) => [.. Enumerable.Range(0, length).Select(i => (byte)(seed + (i * 7)))];

    /// <summary>Writes a zero header and <paramref name="frame"/> at <paramref name="address"/> and makes them one transmit chain.</summary>
    private ushort Offer(DriverQueue transmit, ulong address, byte[] frame, bool splitHeader)
    {
        _machine.Dma.Write(address, new byte[HeaderBytes]);
        _machine.Dma.Write(address + HeaderBytes, frame);
        int half = frame.Length / 2;
        ushort head = splitHeader
            ? transmit.AddChain([
                DriverBuffer.Readable(address, HeaderBytes),
                DriverBuffer.Readable(address + HeaderBytes, (uint)half),
                DriverBuffer.Readable(address + HeaderBytes + (ulong)half, (uint)(frame.Length - half))])
            : transmit.AddChain([DriverBuffer.Readable(address, (uint)(HeaderBytes + frame.Length))]);
        transmit.MakeAvailable(head);
        return head;
    }
}
