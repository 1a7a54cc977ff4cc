using ActorVmm.Devices.Virtio.Queues;

namespace ActorVmm.Devices.Virtio;

/// <summary>
/// The transport-independent, guest-visible state of a virtio device: what was negotiated, the status, each queue's
/// configuration and how far the device got in its rings, and the configuration space. Part of a transport's
/// <see cref="DeviceState"/>; a device rebuilt from it continues with the same driver without a reset.
/// </summary>
/// <param name="DeviceType">The virtio device ID.</param>
/// <param name="DeviceFeatures">The features the device offered (a rebuilt device must offer the same).</param>
/// <param name="DriverFeatures">The features the driver wrote (accepted once FEATURES_OK is set).</param>
/// <param name="Status">The device status field.</param>
/// <param name="ConfigGeneration">The configuration generation counter.</param>
/// <param name="ConfigMsixVector">MSI-X vector for configuration changes (PCI transport; 0xFFFF = none).</param>
/// <param name="Config">The configuration space bytes as the driver could read them.</param>
/// <param name="Queues">One entry per virtqueue.</param>
public sealed record VirtioCoreState(
    int DeviceType,
    ulong DeviceFeatures,
    ulong DriverFeatures,
    byte Status,
    uint ConfigGeneration,
    ushort ConfigMsixVector,
    StateArray<byte> Config,
    StateArray<VirtqueueState> Queues)
{
    /// <summary>Most virtqueues a device state may describe.</summary>
    public const int MaxQueues = 1024;

    /// <summary>Largest configuration space a device state may hold.</summary>
    public const int MaxConfigLength = 4096;

    /// <summary>True when the driver has the device running: DRIVER_OK without DEVICE_NEEDS_RESET or FAILED.</summary>
    public bool IsRunning => (Status & (VirtioStatus.DriverOk | VirtioStatus.DeviceNeedsReset | VirtioStatus.Failed)) == VirtioStatus.DriverOk;

    /// <summary>Checks every value against what the status machine and the ring rules allow.</summary>
    /// <exception cref="DeviceStateException">A value no device could have produced.</exception>
    public void Validate(Action<bool, string> require)
    {
        ArgumentNullException.ThrowIfNull(require);
        require(Enum.IsDefined((VirtioDeviceType)DeviceType), $"device type {DeviceType} is not a virtio device this VMM has");
        require((DeviceFeatures & VirtioFeatures.Version1) != 0, "the device features lack VIRTIO_F_VERSION_1");
        require((Status & ~VirtioStatus.KnownBits) == 0, $"status 0x{Status:X2} has bits no device sets");
        require((Status & VirtioStatus.DriverOk) == 0 || (Status & VirtioStatus.FeaturesOk) != 0, "DRIVER_OK without FEATURES_OK");
        if ((Status & VirtioStatus.FeaturesOk) != 0)
        {
            require((DriverFeatures & ~DeviceFeatures) == 0, $"accepted features 0x{DriverFeatures:X} were not all offered (0x{DeviceFeatures:X})");
            require((DriverFeatures & VirtioFeatures.Version1) != 0, "FEATURES_OK without VIRTIO_F_VERSION_1");
        }

        require(Config.Length <= MaxConfigLength, $"configuration space of {Config.Length} bytes");
        require(Queues.Length is > 0 and <= MaxQueues, $"{Queues.Length} queues");
        for (int i = 0; i < Queues.Length; i++)
        {
            require(Queues[i] is not null, $"queue {i} is missing");
            Queues[i].Validate(i, IsRunning, require);
        }
    }
}

/// <summary>
/// One virtqueue's configuration (as the transport registers hold it) and, for a live queue, the ring positions:
/// the next available entry to take, the next used entry to write, and the chains taken but not yet returned.
/// </summary>
/// <param name="Size">Queue size written by the driver.</param>
/// <param name="Ready">QueueReady / queue_enable.</param>
/// <param name="DescriptorArea">Descriptor table address.</param>
/// <param name="DriverArea">Available ring address.</param>
/// <param name="DeviceArea">Used ring address.</param>
/// <param name="MsixVector">MSI-X vector for the queue (PCI transport; 0xFFFF = none).</param>
/// <param name="NextAvailable">Free-running index of the next available entry the device takes.</param>
/// <param name="NextUsed">Free-running index of the next used entry the device writes.</param>
/// <param name="InFlight">Heads of the chains taken and not returned, ascending.</param>
public sealed record VirtqueueState(
    uint Size,
    bool Ready,
    ulong DescriptorArea,
    ulong DriverArea,
    ulong DeviceArea,
    ushort MsixVector,
    ushort NextAvailable,
    ushort NextUsed,
    StateArray<ushort> InFlight)
{
    /// <summary>The layout the registers describe.</summary>
    public VirtqueueLayout Layout => new(Size, DescriptorArea, DriverArea, DeviceArea);

    internal void Validate(int index, bool deviceRunning, Action<bool, string> require)
    {
        if (deviceRunning && Ready)
        {
            require(SplitRing.IsValidSize(Size), $"live queue {index} has size {Size}");
            require(DescriptorArea % SplitRing.DescriptorTableAlignment == 0, $"queue {index} descriptor table 0x{DescriptorArea:X} is misaligned");
            require(DriverArea % SplitRing.AvailableRingAlignment == 0, $"queue {index} available ring 0x{DriverArea:X} is misaligned");
            require(DeviceArea % SplitRing.UsedRingAlignment == 0, $"queue {index} used ring 0x{DeviceArea:X} is misaligned");
            require(InFlight.Length <= Size, $"queue {index} holds {InFlight.Length} chains, more than its size {Size}");
            require((ushort)(NextAvailable - NextUsed) == InFlight.Length, $"queue {index} took {(ushort)(NextAvailable - NextUsed)} chains it has not returned but lists {InFlight.Length}");
            for (int i = 0; i < InFlight.Length; i++)
            {
                require(InFlight[i] < Size, $"queue {index} holds chain {InFlight[i]}, outside its size {Size}");
                require(i == 0 || InFlight[i] > InFlight[i - 1], $"queue {index} in-flight heads are not ascending and distinct");
            }
        }
        else
        {
            require(NextAvailable == 0 && NextUsed == 0 && InFlight.Length == 0, $"queue {index} is not live but has ring positions");
        }
    }
}
