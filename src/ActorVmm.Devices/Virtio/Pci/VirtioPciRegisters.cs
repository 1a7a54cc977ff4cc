namespace ActorVmm.Devices.Virtio.Pci;

/// <summary>
/// The modern virtio-pci transport's numbers (virtio 1.2 §4.1): PCI IDs, the vendor-specific capability layout
/// (<c>struct virtio_pci_cap</c> and its notify / PCI-config variants) and the common configuration structure
/// (<c>struct virtio_pci_common_cfg</c>). Offsets inside a capability count from the capability's first byte (its ID).
/// </summary>
public static class VirtioPciRegisters
{
    /// <summary>PCI vendor ID of every virtio device (Red Hat / Qumranet).</summary>
    public const ushort VendorId = 0x1AF4;

    /// <summary>Modern device IDs are this plus the virtio device ID (§4.1.2: 0x1040 + type).</summary>
    public const ushort ModernDeviceIdBase = 0x1040;

    /// <summary>Revision ID of a non-transitional (modern-only) device (§4.1.2.1: 1 or higher).</summary>
    public const byte ModernRevision = 1;

    /// <summary>Subsystem IDs of non-transitional devices are this plus the device type (§4.1.2.1: 0x40 or higher).</summary>
    public const ushort SubsystemIdBase = 0x40;

    /// <summary>cfg_type VIRTIO_PCI_CAP_COMMON_CFG: the common configuration structure.</summary>
    public const byte CapCommonCfg = 1;

    /// <summary>cfg_type VIRTIO_PCI_CAP_NOTIFY_CFG: the notification area.</summary>
    public const byte CapNotifyCfg = 2;

    /// <summary>cfg_type VIRTIO_PCI_CAP_ISR_CFG: the ISR status byte.</summary>
    public const byte CapIsrCfg = 3;

    /// <summary>cfg_type VIRTIO_PCI_CAP_DEVICE_CFG: the device-specific configuration.</summary>
    public const byte CapDeviceCfg = 4;

    /// <summary>cfg_type VIRTIO_PCI_CAP_PCI_CFG: the configuration-space window onto the BARs.</summary>
    public const byte CapPciCfg = 5;

    /// <summary>Capability offset of cap_len (the capability's length in bytes).</summary>
    public const int CapLength = 2;

    /// <summary>Capability offset of cfg_type.</summary>
    public const int CapCfgType = 3;

    /// <summary>Capability offset of bar (which BAR holds the structure).</summary>
    public const int CapBar = 4;

    /// <summary>Capability offset of id (several capabilities of one type).</summary>
    public const int CapId = 5;

    /// <summary>Capability offset of offset (le32: where the structure starts in the BAR).</summary>
    public const int CapOffset = 8;

    /// <summary>Capability offset of length (le32: the structure's length).</summary>
    public const int CapStructureLength = 12;

    /// <summary>Bytes of <c>struct virtio_pci_cap</c>.</summary>
    public const int CapSize = 16;

    /// <summary>Notify capability offset of notify_off_multiplier (le32).</summary>
    public const int NotifyOffMultiplierOffset = CapSize;

    /// <summary>Bytes of <c>struct virtio_pci_notify_cap</c>.</summary>
    public const int NotifyCapSize = CapSize + 4;

    /// <summary>PCI-config capability offset of pci_cfg_data[4] (the window's data).</summary>
    public const int PciCfgData = CapSize;

    /// <summary>Bytes of <c>struct virtio_pci_cfg_cap</c>.</summary>
    public const int PciCfgCapSize = CapSize + 4;

    /// <summary>common_cfg device_feature_select (le32, RW).</summary>
    public const int DeviceFeatureSelect = 0x00;

    /// <summary>common_cfg device_feature (le32, RO): 32 feature bits chosen by device_feature_select.</summary>
    public const int DeviceFeature = 0x04;

    /// <summary>common_cfg driver_feature_select (le32, RW).</summary>
    public const int DriverFeatureSelect = 0x08;

    /// <summary>common_cfg driver_feature (le32, RW).</summary>
    public const int DriverFeature = 0x0C;

    /// <summary>common_cfg config_msix_vector (le16, RW): the MSI-X vector of configuration changes.</summary>
    public const int ConfigMsixVector = 0x10;

    /// <summary>common_cfg num_queues (le16, RO).</summary>
    public const int NumQueues = 0x12;

    /// <summary>common_cfg device_status (u8, RW): writing 0 resets the device.</summary>
    public const int DeviceStatus = 0x14;

    /// <summary>common_cfg config_generation (u8, RO).</summary>
    public const int ConfigGeneration = 0x15;

    /// <summary>common_cfg queue_select (le16, RW): the queue the queue_* fields address.</summary>
    public const int QueueSelect = 0x16;

    /// <summary>common_cfg queue_size (le16, RW): maximum on reset, a power of two the driver may lower; 0 for no queue.</summary>
    public const int QueueSize = 0x18;

    /// <summary>common_cfg queue_msix_vector (le16, RW).</summary>
    public const int QueueMsixVector = 0x1A;

    /// <summary>common_cfg queue_enable (le16, RW): the driver writes 1 once the queue is set up.</summary>
    public const int QueueEnable = 0x1C;

    /// <summary>common_cfg queue_notify_off (le16, RO): the queue's notify address is cap offset + this × multiplier.</summary>
    public const int QueueNotifyOff = 0x1E;

    /// <summary>common_cfg queue_desc (le64, RW): descriptor area.</summary>
    public const int QueueDesc = 0x20;

    /// <summary>common_cfg queue_driver (le64, RW): driver area (available ring).</summary>
    public const int QueueDriver = 0x28;

    /// <summary>common_cfg queue_device (le64, RW): device area (used ring).</summary>
    public const int QueueDevice = 0x30;

    /// <summary>common_cfg queue_notify_data (le16, RO): only with VIRTIO_F_NOTIF_CONFIG_DATA, not offered: reads 0.</summary>
    public const int QueueNotifyData = 0x38;

    /// <summary>common_cfg queue_reset (le16, RW): only with VIRTIO_F_RING_RESET, not offered: reads 0, writes ignored.</summary>
    public const int QueueReset = 0x3A;

    /// <summary>Bytes of the common configuration structure (virtio 1.2, with queue_notify_data and queue_reset).</summary>
    public const int CommonCfgSize = 0x3C;

    /// <summary>ISR status bit 0: a used-buffer notification (INTx only).</summary>
    public const byte IsrQueue = 1;

    /// <summary>ISR status bit 1: a configuration change (INTx only).</summary>
    public const byte IsrConfig = 2;

    /// <summary>The ISR bits that exist.</summary>
    public const byte IsrBits = IsrQueue | IsrConfig;

    /// <summary>VIRTIO_MSI_NO_VECTOR: no vector assigned (or the assignment was refused).</summary>
    public const ushort NoVector = VirtioDeviceCore.NoMsixVector;

    /// <summary>The width a driver writes to a notify address: the 16-bit queue index (no VIRTIO_F_NOTIFICATION_DATA).</summary>
    public const int NotifyWidth = sizeof(ushort);
}
