using ActorVmm.Actors.Devices;
using ActorVmm.Actors.Tests.Fakes;
using ActorVmm.Devices;
using ActorVmm.Devices.Virtio;
using ActorVmm.Devices.Virtio.Mmio;
using ActorVmm.Devices.Virtio.Net;
using ActorVmm.Machine.Memory;
using ActorVmm.TestSupport;
using ActorVmm.TestSupport.Virtio;
using Akka.Actor;
using Xunit.Abstractions;

namespace ActorVmm.Actors.Tests.Devices;

/// <summary>
/// virtio-net on a real device actor with a fake tap: the guest's transmit notification (a register write on the test's
/// "vCPU" thread) is sent to the tap by the actor, and a host frame that arrives later from another thread is copied into
/// the waiting receive buffer by the actor, never by the thread that delivered it.
/// </summary>
public sealed class VirtioNetActorSpecs(ITestOutputHelper output) : ActorVmmTestKit(output)
{
    private const ulong Ram = 0x100_0000;
    private const ulong Buffers = 0x10_0000;
    private const ushort QueueSize = 16;
    private readonly GuestMemory _ram = GuestMemory.Create(Ram);
    private readonly FakeNetworkTap _tap = new();

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _ram.Dispose();
        }
    }

    [Fact]
    public void The_actor_sends_a_transmitted_frame_to_the_tap_and_returns_the_chain()
    {
        var (driver, queues, dma) = Start();
        var transmit = queues[VirtioNetProtocol.TransmitQueue];
        byte[] frame = [.. Enumerable.Range(0, 60).Select(i => (byte)i)];
        dma.Write(Buffers + VirtioNetProtocol.HeaderBytes, frame);
        transmit.MakeAvailable(transmit.AddChain([DriverBuffer.Readable(Buffers, (uint)(VirtioNetProtocol.HeaderBytes + frame.Length))]));

        driver.Notify(VirtioNetProtocol.TransmitQueue);

        AwaitAssert(() => Assert.Equal([frame], _tap.Sent), Patience);
        AwaitAssert(() => Assert.True(transmit.TryTakeUsed(out _)), Patience);
        Assert.NotEqual(Environment.CurrentManagedThreadId, _tap.LastCallerThread);
    }

    [Fact]
    public async Task A_frame_arriving_later_from_another_thread_lands_in_the_waiting_buffer_through_the_actor()
    {
        var (driver, queues, dma) = Start();
        var receive = queues[VirtioNetProtocol.ReceiveQueue];
        receive.MakeAvailable(receive.AddChain([DriverBuffer.Writable(Buffers, 1526)]));
        driver.Notify(VirtioNetProtocol.ReceiveQueue);
        AwaitCondition(() => _tap.IsWaitingForFrame, Patience);

        byte[] frame = [.. Enumerable.Range(0, 98).Select(i => (byte)(0xFF - i))];
        await Task.Run(() => _tap.Deliver(frame));

        UsedElement used = default;
        AwaitAssert(() => Assert.True(receive.TryTakeUsed(out used)), Patience);
        Assert.Equal((uint)(VirtioNetProtocol.HeaderBytes + frame.Length), used.Length);
        var landed = new byte[frame.Length];
        dma.Read(Buffers + VirtioNetProtocol.HeaderBytes, landed);
        Assert.Equal(frame, landed);
        Assert.False(_tap.ReadInsideDeliver);
    }

    [Fact]
    public void Frames_wait_in_the_tap_until_the_guest_gives_buffers_then_all_arrive_in_order()
    {
        var (driver, queues, dma) = Start();
        var receive = queues[VirtioNetProtocol.ReceiveQueue];
        for (byte i = 0; i < 3; i++)
        {
            _tap.Deliver([.. Enumerable.Repeat(i, 64)]);
        }

        driver.Notify(VirtioNetProtocol.ReceiveQueue);
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Assert.Equal(3, _tap.WaitingFrames);

        for (int i = 0; i < 3; i++)
        {
            receive.MakeAvailable(receive.AddChain([DriverBuffer.Writable(Buffers + ((ulong)i * 0x1000), 1526)]));
        }

        driver.Notify(VirtioNetProtocol.ReceiveQueue);

        AwaitCondition(() => _tap.WaitingFrames == 0, Patience);
        for (int i = 0; i < 3; i++)
        {
            UsedElement used = default;
            AwaitAssert(() => Assert.True(receive.TryTakeUsed(out used)), Patience);
            var first = new byte[1];
            dma.Read(Buffers + ((ulong)used.Id * 0x1000) + VirtioNetProtocol.HeaderBytes, first);
            Assert.Equal((byte)i, first[0]);
        }
    }

    private (VirtioMmioDriver Driver, DriverQueue[] Queues, GuestDma Dma) Start()
    {
        var dma = new GuestDma(_ram);
        var environment = new DeviceEnvironment("net", (irq, _) => new IrqLineProbe(irq), TimeProvider.System, new CollectingOutput(), new RecordingPower(), dma);
        var definition = VirtioMmioDevice.Definition("virtio-net0", VirtioTestMachine.Slot, _ => new VirtioNet(_tap, MacAddress.DefaultGuest));

        // As the supervisor does it: the cell gets its instance, then the actor is told to attach it.
        var cell = new DeviceCell(definition, environment);
        var actor = ChildActorOf(DeviceActor.Props(cell));
        var device = cell.Build(new ActorMailbox(actor), state: null);
        actor.Tell(new DeviceProtocol.Attach(cell.Install(device)), ActorRefs.NoSender);

        var driver = new VirtioMmioDriver(new DeviceBus(device), VirtioTestMachine.Slot.Base);
        var arena = new GuestArena(0x1000, Buffers);
        Assert.NotNull(driver.Negotiate(VirtioFeatures.Version1 | VirtioNetProtocol.FeatureMac | VirtioNetProtocol.FeatureStatus));
        var queues = new DriverQueue[2];
        for (int i = 0; i < queues.Length; i++)
        {
            queues[i] = DriverQueue.Allocate(dma, arena, QueueSize);
            driver.SetUpQueue(i, queues[i]);
        }

        driver.DriverOk();
        Assert.Equal(0, driver.Status & VirtioStatus.DeviceNeedsReset);
        return (driver, queues, dma);
    }
}
