namespace ActorVmm.Devices.Virtio.Mmio;

/// <summary>virtio-mmio version 2 register offsets and values (virtio 1.2 §4.2.2); all registers are 32-bit, little-endian.</summary>
public static class VirtioMmioRegisters
{
    /// <summary>MagicValue (R): 0x74726976, "virt".</summary>
    public const int MagicValue = 0x000;

    /// <summary>Version (R): 2 (1 was the legacy interface).</summary>
    public const int Version = 0x004;

    /// <summary>DeviceID (R): the virtio device type.</summary>
    public const int DeviceId = 0x008;

    /// <summary>VendorID (R): the subsystem vendor.</summary>
    public const int VendorId = 0x00C;

    /// <summary>DeviceFeatures (R): 32 feature bits selected by DeviceFeaturesSel.</summary>
    public const int DeviceFeatures = 0x010;

    /// <summary>DeviceFeaturesSel (W): which 32 device feature bits DeviceFeatures shows.</summary>
    public const int DeviceFeaturesSel = 0x014;

    /// <summary>DriverFeatures (W): 32 accepted feature bits selected by DriverFeaturesSel.</summary>
    public const int DriverFeatures = 0x020;

    /// <summary>DriverFeaturesSel (W): which 32 driver feature bits DriverFeatures sets.</summary>
    public const int DriverFeaturesSel = 0x024;

    /// <summary>QueueSel (W): the queue the Queue* registers apply to.</summary>
    public const int QueueSel = 0x030;

    /// <summary>QueueNumMax / QueueSizeMax (R): largest size of the selected queue, 0 if it does not exist.</summary>
    public const int QueueNumMax = 0x034;

    /// <summary>QueueNum / QueueSize (W): size of the selected queue.</summary>
    public const int QueueNum = 0x038;

    /// <summary>QueueReady (RW): the selected queue is enabled.</summary>
    public const int QueueReady = 0x044;

    /// <summary>QueueNotify (W): the driver added buffers to the queue whose index is written.</summary>
    public const int QueueNotify = 0x050;

    /// <summary>InterruptStatus (R): why the interrupt is asserted (<see cref="InterruptUsedBuffer"/>, <see cref="InterruptConfigChange"/>).</summary>
    public const int InterruptStatus = 0x060;

    /// <summary>InterruptACK (W): the events written were handled.</summary>
    public const int InterruptAck = 0x064;

    /// <summary>Status (RW): the device status field; writing 0 resets the device.</summary>
    public const int Status = 0x070;

    /// <summary>QueueDescLow (W): descriptor area of the selected queue, bits 0–31.</summary>
    public const int QueueDescLow = 0x080;

    /// <summary>QueueDescHigh (W): descriptor area, bits 32–63.</summary>
    public const int QueueDescHigh = 0x084;

    /// <summary>QueueDriverLow (W): driver area (available ring), bits 0–31.</summary>
    public const int QueueDriverLow = 0x090;

    /// <summary>QueueDriverHigh (W): driver area, bits 32–63.</summary>
    public const int QueueDriverHigh = 0x094;

    /// <summary>QueueDeviceLow (W): device area (used ring), bits 0–31.</summary>
    public const int QueueDeviceLow = 0x0A0;

    /// <summary>QueueDeviceHigh (W): device area, bits 32–63.</summary>
    public const int QueueDeviceHigh = 0x0A4;

    /// <summary>SHMSel (W): the shared memory region the SHM registers describe.</summary>
    public const int ShmSel = 0x0AC;

    /// <summary>SHMLenLow (R): length of the selected region, bits 0–31 (all ones: no such region).</summary>
    public const int ShmLenLow = 0x0B0;

    /// <summary>SHMLenHigh (R): length, bits 32–63.</summary>
    public const int ShmLenHigh = 0x0B4;

    /// <summary>SHMBaseLow (R): base of the selected region, bits 0–31 (all ones: no such region).</summary>
    public const int ShmBaseLow = 0x0B8;

    /// <summary>SHMBaseHigh (R): base, bits 32–63.</summary>
    public const int ShmBaseHigh = 0x0BC;

    /// <summary>QueueReset (RW): only with VIRTIO_F_RING_RESET, which is not offered: reads 0, writes are ignored.</summary>
    public const int QueueReset = 0x0C0;

    /// <summary>ConfigGeneration (R): changes when the configuration space may have changed.</summary>
    public const int ConfigGeneration = 0x0FC;

    /// <summary>Config: the device-specific configuration space, any access width.</summary>
    public const int Config = 0x100;

    /// <summary>The value of MagicValue: "virt" in little-endian.</summary>
    public const uint Magic = 0x7472_6976;

    /// <summary>The value of Version for a non-legacy device.</summary>
    public const uint Version2 = 2;

    /// <summary>Our subsystem vendor ID: "AVMM" in little-endian.</summary>
    public const uint ActorVmmVendor = 0x4D4D_5641;

    /// <summary>InterruptStatus bit 0: a used buffer notification.</summary>
    public const uint InterruptUsedBuffer = 1;

    /// <summary>InterruptStatus bit 1: a configuration change notification.</summary>
    public const uint InterruptConfigChange = 2;

    /// <summary>The InterruptStatus bits that exist.</summary>
    public const uint InterruptBits = InterruptUsedBuffer | InterruptConfigChange;

    /// <summary>Width of every control register.</summary>
    public const int RegisterWidth = 4;

    /// <summary>Bytes of one transport window: registers up to 0x100, configuration space up to 0x200 (kvmtool and Linux use 0x200).</summary>
    public const ulong WindowSize = 0x200;

    /// <summary>Largest configuration space that fits the window.</summary>
    public const int MaxConfigLength = (int)WindowSize - Config;
}
