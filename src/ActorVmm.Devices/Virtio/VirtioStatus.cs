namespace ActorVmm.Devices.Virtio;

/// <summary>The device status field's bits (virtio 1.2 §2.1).</summary>
public static class VirtioStatus
{
    /// <summary>ACKNOWLEDGE: the guest found the device and recognised it as a virtio device.</summary>
    public const byte Acknowledge = 1;

    /// <summary>DRIVER: the guest knows how to drive the device.</summary>
    public const byte Driver = 2;

    /// <summary>DRIVER_OK: the driver is set up and ready to drive the device.</summary>
    public const byte DriverOk = 4;

    /// <summary>FEATURES_OK: feature negotiation is complete (the device clears it again when it refuses the features).</summary>
    public const byte FeaturesOk = 8;

    /// <summary>DEVICE_NEEDS_RESET: the device hit an error it cannot recover from; set by the device only.</summary>
    public const byte DeviceNeedsReset = 64;

    /// <summary>FAILED: the guest gave up on the device.</summary>
    public const byte Failed = 128;

    /// <summary>The bits a driver may set (every defined bit but DEVICE_NEEDS_RESET; SUSPEND is not offered).</summary>
    public const byte DriverBits = Acknowledge | Driver | DriverOk | FeaturesOk | Failed;

    /// <summary>Every bit this device can show.</summary>
    public const byte KnownBits = DriverBits | DeviceNeedsReset;
}
