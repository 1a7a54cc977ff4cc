using ActorVmm.Devices.Virtio;
using ActorVmm.Devices.Virtio.Console;
using ActorVmm.Devices.Virtio.Rng;
using ActorVmm.TestSupport.Virtio;

namespace ActorVmm.Devices.Tests.Virtio;

/// <summary>Machines with one virtio device and a driver that brings it up, for the virtio tests.</summary>
internal static class VirtioRigs
{
    /// <summary>RAM of every test machine.</summary>
    public const ulong Ram = 0x100_0000;

    /// <summary>Where rings go; buffers start at <see cref="Buffers"/>.</summary>
    public const ulong RingArea = 0x1000;

    /// <summary>First buffer address.</summary>
    public const ulong Buffers = 0x10_0000;

    /// <summary>Entries of the queues the tests set up.</summary>
    public const ushort QueueSize = 16;

    /// <summary>Every device-independent feature a Linux driver takes.</summary>
    public const ulong RingFeatures = VirtioFeatures.Version1 | VirtioFeatures.IndirectDescriptors | VirtioFeatures.EventIndex;

    /// <summary>An entropy device whose "random" bytes are 0xA5 (or what <paramref name="fill"/> makes).</summary>
    public static VirtioTestMachine Rng(RandomFill? fill = null) => new(Ram, _ => new VirtioRng(fill ?? (span => span.Fill(0xA5))));

    /// <summary>A console writing to <paramref name="output"/>.</summary>
    public static VirtioTestMachine ConsoleMachine(IGuestOutput output) => new(Ram, context => new VirtioConsole(context.Input, context.Output), output);

    /// <summary>Negotiates <paramref name="features"/>, sets up <paramref name="queues"/> queues of <see cref="QueueSize"/> and sets DRIVER_OK.</summary>
    public static DriverQueue[] Start(VirtioTestMachine machine, ulong features = RingFeatures, int queues = 1)
    {
        var arena = new GuestArena(RingArea, Buffers);
        Assert.NotNull(machine.Driver.Negotiate(features));
        var driverQueues = new DriverQueue[queues];
        for (int i = 0; i < queues; i++)
        {
            driverQueues[i] = DriverQueue.Allocate(machine.Dma, arena, QueueSize);
            machine.Driver.SetUpQueue(i, driverQueues[i]);
        }

        machine.Driver.DriverOk();
        Assert.Equal(VirtioStatus.Acknowledge | VirtioStatus.Driver | VirtioStatus.FeaturesOk | VirtioStatus.DriverOk, machine.Driver.Status);
        machine.RunSlowPath();
        return driverQueues;
    }

    /// <summary>Reads guest bytes.</summary>
    public static byte[] Bytes(VirtioTestMachine machine, ulong address, int length)
    {
        var bytes = new byte[length];
        machine.Dma.Read(address, bytes);
        return bytes;
    }
}

/// <summary>Collects console output.</summary>
internal sealed class CollectingOutput : IGuestOutput
{
    private readonly List<byte> _bytes = [];

    public byte[] Bytes
    {
        get
        {
            lock (_bytes)
            {
                return [.. _bytes];
            }
        }
    }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        lock (_bytes)
        {
            _bytes.AddRange(bytes);
        }
    }
}
