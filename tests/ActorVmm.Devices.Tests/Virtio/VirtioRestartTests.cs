using System.Text;
using ActorVmm.Devices.ExitPort;
using ActorVmm.Devices.Virtio;
using ActorVmm.Devices.Virtio.Block;
using ActorVmm.Devices.Virtio.Console;
using ActorVmm.Devices.Virtio.Mmio;
using ActorVmm.TestSupport.Virtio;
using static ActorVmm.Devices.Tests.Virtio.VirtioRigs;
using static ActorVmm.Devices.Virtio.Block.VirtioBlockProtocol;

namespace ActorVmm.Devices.Tests.Virtio;

public sealed class VirtioRestartTests
{
    [Fact]
    public void A_device_rebuilt_from_its_state_mid_stream_continues_without_losing_or_repeating_a_request()
    {
        using var machine = Rng();
        var queue = Start(machine)[0];
        var heads = new List<ushort>();
        for (int i = 0; i < 5; i++)
        {
            heads.Add(Offer(queue, i));
        }

        machine.Driver.Notify(0);
        machine.RunSlowPath();
        for (int i = 5; i < 8; i++)
        {
            heads.Add(Offer(queue, i));
        }

        machine.Driver.Notify(0);
        var state = (VirtioMmioState)machine.Device.CaptureState();

        var rebuilt = machine.Rebuild(state);
        Assert.Equal(state, rebuilt.CaptureState());
        machine.RunSlowPath();

        var used = new List<ushort>();
        while (queue.TryTakeUsed(out var element))
        {
            used.Add((ushort)element.Id);
        }

        Assert.Equal(heads, used);
        Assert.Equal(0, machine.Driver.Status & VirtioStatus.DeviceNeedsReset);
    }

    [Fact]
    public void A_power_on_device_captures_a_valid_state_a_twin_rebuilds_identically()
    {
        using var machine = Rng();
        var state = machine.Device.CaptureState();
        state.Validate();

        Assert.Equal(state, machine.Rebuild(state).CaptureState());
        Assert.Equal(0, machine.Driver.Status);
    }

    [Fact]
    public void A_block_write_in_flight_at_capture_is_executed_again_and_answered_once()
    {
        var backend = new ManualBlockBackend(64 * SectorSize);
        using var machine = new VirtioTestMachine(Ram, _ => new VirtioBlock(backend, "disk"));
        var driver = BlockDriver.Start(machine);
        var request = driver.Submit(RequestOut, 3, SectorSize, Enumerable.Repeat((byte)0x42, SectorSize).ToArray());
        machine.Driver.Notify(0);
        machine.RunSlowPath();
        Assert.Equal(1, backend.PendingCount);
        var state = (VirtioMmioState)machine.Device.CaptureState();
        Assert.Equal([request.Head], state.Core.Queues[0].InFlight);

        machine.Rebuild(state);
        machine.RunSlowPath();
        Assert.Equal(2, backend.PendingCount);

        // The first incarnation's write completes too; its completion is not the new incarnation's business.
        backend.Complete(0);
        backend.Complete(0);
        var (used, status) = driver.Await(request);
        machine.RunSlowPath();

        Assert.Equal(StatusOk, status);
        Assert.Equal(1u, used.Length);
        Assert.False(driver.Queue.TryTakeUsed(out _));
        Assert.All(backend.Image.AsSpan(3 * SectorSize, SectorSize).ToArray(), b => Assert.Equal(0x42, b));
    }

    [Fact]
    public void An_acknowledged_write_is_in_the_image_for_the_next_incarnation()
    {
        string path = Path.Combine(Path.GetTempPath(), $"actorvmm-virtio-restart-{Guid.NewGuid():N}.img");
        File.WriteAllBytes(path, new byte[16 * SectorSize]);
        try
        {
            using var image = RawImageFile.Open(path, readOnly: false);
            using var machine = new VirtioTestMachine(Ram, _ => new VirtioBlock(image, "disk"));
            var driver = BlockDriver.Start(machine);
            byte[] data = Enumerable.Repeat((byte)0x3C, SectorSize).ToArray();
            Assert.Equal(StatusOk, driver.Run(RequestOut, 7, SectorSize, data).Status);

            machine.Rebuild(machine.Device.CaptureState());
            var read = driver.Submit(RequestIn, 7, SectorSize);
            machine.Driver.Notify(0);
            Assert.Equal(StatusOk, driver.Await(read).Status);

            Assert.Equal(data, driver.Data(read));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Console_bytes_are_delivered_once_across_a_restart_both_ways()
    {
        var output = new CollectingOutput();
        using var machine = ConsoleMachine(output);
        var queues = Start(machine, queues: 2);
        Transmit(machine, queues[VirtioConsole.TransmitQueue], "abc");
        machine.Input.Add("xyz"u8);
        machine.Device.OnInputAvailable();

        machine.Rebuild(machine.Device.CaptureState());
        machine.RunSlowPath();
        Transmit(machine, queues[VirtioConsole.TransmitQueue], "def");
        var receive = queues[VirtioConsole.ReceiveQueue];
        receive.MakeAvailable(receive.AddChain([DriverBuffer.Writable(Buffers + 0x8000, 16)]));
        machine.Driver.Notify(VirtioConsole.ReceiveQueue);
        machine.RunSlowPath();

        Assert.Equal("abcdef", Encoding.ASCII.GetString(output.Bytes));
        Assert.True(receive.TryTakeUsed(out var used));
        Assert.Equal("xyz", Encoding.ASCII.GetString(Bytes(machine, Buffers + 0x8000, (int)used.Length)));
    }

    public static TheoryData<string> Corruptions =>
    [
        "interrupt status bit 2",
        "driver ok without features ok",
        "features ok without version 1",
        "live queue of size 3",
        "in-flight count disagrees with the indices",
        "in-flight head outside the queue",
        "unknown device type",
        "configuration larger than the window",
        "misaligned live descriptor table",
    ];

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void Validate_refuses_a_state_no_device_could_have(string corruption)
    {
        using var machine = Rng();
        var queue = Start(machine)[0];
        Offer(queue, 0);
        var state = (VirtioMmioState)machine.Device.CaptureState();
        state.Validate();

        var bad = Corrupt(state, corruption);

        Assert.Throws<DeviceStateException>(bad.Validate);
    }

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void A_device_given_an_untrusted_state_comes_up_needing_a_reset_and_tells_the_driver(string corruption)
    {
        using var machine = Rng();
        var queue = Start(machine)[0];
        var bad = Corrupt((VirtioMmioState)machine.Device.CaptureState(), corruption);

        var rebuilt = machine.Rebuild(bad);

        Assert.NotEqual(0, machine.Driver.Status & VirtioStatus.DeviceNeedsReset);
        Assert.Equal(VirtioMmioRegisters.InterruptConfigChange, rebuilt.InterruptStatus);
        Assert.True(machine.Line.Level);
        Assert.Equal(1, rebuilt.Counters.DeviceErrors);

        // The queues stay untouched until the driver resets the device; after that it works.
        Offer(queue, 1);
        machine.Driver.Notify(0);
        machine.RunSlowPath();
        Assert.Equal(0, queue.UsedIndex);
        var fresh = Start(machine)[0];
        Offer(fresh, 2);
        machine.Driver.Notify(0);
        machine.RunSlowPath();
        Assert.Equal(1, fresh.UsedIndex);
    }

    [Fact]
    public void A_state_of_another_device_brings_the_device_up_needing_a_reset()
    {
        using var rng = Rng();
        Start(rng);
        var rngState = rng.Device.CaptureState();
        using var console = ConsoleMachine(new CollectingOutput());

        Assert.NotEqual(0, console.Rebuild(rngState).Core.Status & VirtioStatus.DeviceNeedsReset);
        Assert.NotEqual(0, console.Rebuild(new ExitPortState()).Core.Status & VirtioStatus.DeviceNeedsReset);
    }

    [Fact]
    public void A_device_rebuilt_over_a_grown_image_tells_the_driver_its_configuration_changed()
    {
        IBlockBackend backend = new ManualBlockBackend(64 * SectorSize);
        using var machine = new VirtioTestMachine(Ram, _ => new VirtioBlock(backend, "disk"));
        BlockDriver.Start(machine);
        var state = machine.Device.CaptureState();
        backend = new ManualBlockBackend(128 * SectorSize);

        var rebuilt = machine.Rebuild(state);

        Assert.Equal(1u, machine.Driver.Read(VirtioMmioRegisters.ConfigGeneration));
        Assert.Equal(VirtioMmioRegisters.InterruptConfigChange, rebuilt.InterruptStatus);
        Assert.Equal(128UL, machine.Driver.ReadConfig(ConfigCapacity, sizeof(ulong)));
        Assert.True(rebuilt.Core.IsRunning);
    }

    private static ushort Offer(DriverQueue queue, int slot)
    {
        ushort head = queue.AddChain([DriverBuffer.Writable(Buffers + ((ulong)slot * 0x100), 16)]);
        queue.MakeAvailable(head);
        return head;
    }

    private static void Transmit(VirtioTestMachine machine, DriverQueue transmit, string text)
    {
        machine.Dma.Write(Buffers, Encoding.ASCII.GetBytes(text));
        transmit.MakeAvailable(transmit.AddChain([DriverBuffer.Readable(Buffers, (uint)text.Length)]));
        machine.Driver.Notify(VirtioConsole.TransmitQueue);
        machine.RunSlowPath();
        Assert.True(transmit.TryTakeUsed(out _));
    }

    private static VirtioMmioState Corrupt(VirtioMmioState state, string corruption)
    {
        var core = state.Core;
        var queue = core.Queues[0];
        VirtioCoreState WithQueue(VirtqueueState q) => core with { Queues = core.Queues.SetItem(0, q) };
        return corruption switch
        {
            "interrupt status bit 2" => state with { InterruptStatus = 4 },
            "driver ok without features ok" => state with { Core = core with { Status = (byte)(core.Status & ~VirtioStatus.FeaturesOk) } },
            "features ok without version 1" => state with { Core = core with { DriverFeatures = core.DriverFeatures & ~VirtioFeatures.Version1 } },
            "live queue of size 3" => state with { Core = WithQueue(queue with { Size = 3 }) },
            "in-flight count disagrees with the indices" => state with { Core = WithQueue(queue with { NextAvailable = (ushort)(queue.NextUsed + 1) }) },
            "in-flight head outside the queue" => state with { Core = WithQueue(queue with { NextAvailable = (ushort)(queue.NextUsed + 1), InFlight = [(ushort)queue.Size] }) },
            "unknown device type" => state with { Core = core with { DeviceType = 99 } },
            "configuration larger than the window" => state with { Core = core with { Config = StateArray.Create<byte>(new byte[VirtioMmioRegisters.MaxConfigLength + 1]) } },
            "misaligned live descriptor table" => state with { Core = WithQueue(queue with { DescriptorArea = queue.DescriptorArea + 8 }) },
            _ => throw new ArgumentOutOfRangeException(nameof(corruption)),
        };
    }
}
