using System.Buffers.Binary;
using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Pci.Msix;

namespace ActorVmm.Devices.Virtio.Pci;

/// <summary>
/// Where a virtio-pci function keeps its structures: one 64-bit, non-prefetchable memory BAR (the ISR is read-to-clear,
/// so reads have side effects) with each structure on its own 4 KiB page, as QEMU lays them out, so a driver may map
/// them separately: common configuration, ISR, device configuration, notifications, then the MSI-X table and PBA.
/// The layout is the same for every device type (so the platform can size and place the BAR before any device model
/// exists): room for <see cref="MaxQueues"/> queues with a vector each plus the configuration vector, and a device
/// configuration window of <see cref="DeviceCfgLength"/> bytes whose bytes past the model's configuration read 0.
/// </summary>
public static class VirtioPciLayout
{
    /// <summary>The BAR's register index (a 64-bit BAR: registers 0 and 1).</summary>
    public const int Bar = 0;

    /// <summary>Bytes of the BAR.</summary>
    public const ulong BarSize = 0x4000;

    /// <summary>BAR offset of the common configuration structure.</summary>
    public const uint CommonCfgOffset = 0x0000;

    /// <summary>BAR offset of the ISR status byte.</summary>
    public const uint IsrOffset = 0x1000;

    /// <summary>Bytes of the ISR structure.</summary>
    public const uint IsrLength = 1;

    /// <summary>BAR offset of the device-specific configuration.</summary>
    public const uint DeviceCfgOffset = 0x2000;

    /// <summary>Bytes of the device configuration window (the core's largest configuration space).</summary>
    public const uint DeviceCfgLength = VirtioCoreState.MaxConfigLength;

    /// <summary>BAR offset of the notification area.</summary>
    public const uint NotifyOffset = 0x3000;

    /// <summary>notify_off_multiplier: queue n's notify address is <see cref="NotifyOffset"/> + n × this.</summary>
    public const uint NotifyOffMultiplier = 4;

    /// <summary>Most queues a device on this transport may have.</summary>
    public const int MaxQueues = 64;

    /// <summary>Bytes of the notification area.</summary>
    public const uint NotifyLength = MaxQueues * NotifyOffMultiplier;

    /// <summary>BAR offset of the MSI-X table (the PBA follows it).</summary>
    public const uint MsixTableOffset = 0x3800;

    /// <summary>MSI-X vectors: one per queue and one for configuration changes.</summary>
    public const int MsixVectors = MaxQueues + 1;

    /// <summary>The INTx pin (used with the ISR while MSI-X is off).</summary>
    public const PciInterruptPin InterruptPin = PciInterruptPin.IntA;

    /// <summary>The PCI device ID of a modern device of <paramref name="type"/> (0x1040 + the virtio device ID).</summary>
    public static ushort DeviceId(VirtioDeviceType type) => (ushort)(VirtioPciRegisters.ModernDeviceIdBase + (int)type);

    /// <summary>The class code a driver-less guest sees, as QEMU gives each type (block: SCSI storage, net: Ethernet, console: other communication, rng: other).</summary>
    public static PciClassCode ClassCode(VirtioDeviceType type) => type switch
    {
        VirtioDeviceType.Block => new PciClassCode(0x01, 0x00),
        VirtioDeviceType.Network => new PciClassCode(0x02, 0x00),
        VirtioDeviceType.Console => new PciClassCode(0x07, 0x80),
        _ => PciClassCode.Unclassified,
    };

    /// <summary>
    /// The function of a modern (non-transitional) device of <paramref name="type"/>: IDs, the BAR, INTA, MSI-X and the
    /// five vendor-specific capabilities (common, notify, ISR, device, PCI configuration access), in that order.
    /// </summary>
    public static PciFunctionDefinition Function(VirtioDeviceType type) => new()
    {
        VendorId = VirtioPciRegisters.VendorId,
        DeviceId = DeviceId(type),
        ClassCode = ClassCode(type),
        RevisionId = VirtioPciRegisters.ModernRevision,
        SubsystemVendorId = VirtioPciRegisters.VendorId,
        SubsystemId = (ushort)(VirtioPciRegisters.SubsystemIdBase + (int)type),
        InterruptPin = InterruptPin,
        Bars = [new PciBarDefinition(Bar, PciBarKind.Memory64, BarSize)],
        Capabilities =
        [
            Capability(VirtioPciRegisters.CapCommonCfg, CommonCfgOffset, VirtioPciRegisters.CommonCfgSize),
            NotifyCapability(),
            Capability(VirtioPciRegisters.CapIsrCfg, IsrOffset, IsrLength),
            Capability(VirtioPciRegisters.CapDeviceCfg, DeviceCfgOffset, DeviceCfgLength),
            PciCfgCapability(),
        ],
        Msix = MsixDefinition.InBar(Bar, MsixVectors, MsixTableOffset),
    };

    /// <summary>The configuration offset of the first vendor-specific capability of <paramref name="cfgType"/> in <paramref name="function"/>, or -1.</summary>
    public static int CapabilityOffset(PciFunctionDefinition function, byte cfgType)
    {
        ArgumentNullException.ThrowIfNull(function);
        int offset = PciHeader.StandardHeaderSize;
        foreach (var capability in function.AllCapabilities())
        {
            const int typeInBody = VirtioPciRegisters.CapCfgType - PciCapability.HeaderSize;
            if (capability.Id == PciCapabilityId.VendorSpecific && capability.Body.Length > typeInBody && capability.Body[typeInBody] == cfgType)
            {
                return offset;
            }

            offset += (capability.Length + 3) & ~3;
        }

        return -1;
    }

    // struct virtio_pci_cap's body (after cap_vndr and cap_next): cap_len, cfg_type, bar, id, padding, offset, length.
    private static byte[] CapBody(byte cfgType, int capLength, uint offset, uint length)
    {
        byte[] body = new byte[capLength - PciCapability.HeaderSize];
        body[VirtioPciRegisters.CapLength - PciCapability.HeaderSize] = (byte)capLength;
        body[VirtioPciRegisters.CapCfgType - PciCapability.HeaderSize] = cfgType;
        body[VirtioPciRegisters.CapBar - PciCapability.HeaderSize] = Bar;
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(VirtioPciRegisters.CapOffset - PciCapability.HeaderSize), offset);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(VirtioPciRegisters.CapStructureLength - PciCapability.HeaderSize), length);
        return body;
    }

    private static PciCapability Capability(byte cfgType, uint offset, uint length) =>
        PciCapability.ReadOnly(PciCapabilityId.VendorSpecific, CapBody(cfgType, VirtioPciRegisters.CapSize, offset, length));

    private static PciCapability NotifyCapability()
    {
        byte[] body = CapBody(VirtioPciRegisters.CapNotifyCfg, VirtioPciRegisters.NotifyCapSize, NotifyOffset, NotifyLength);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(VirtioPciRegisters.NotifyOffMultiplierOffset - PciCapability.HeaderSize), NotifyOffMultiplier);
        return PciCapability.ReadOnly(PciCapabilityId.VendorSpecific, body);
    }

    // The PCI configuration access capability: bar, offset and length are the driver's to write; pci_cfg_data is served by the device.
    private static PciCapability PciCfgCapability()
    {
        byte[] body = CapBody(VirtioPciRegisters.CapPciCfg, VirtioPciRegisters.PciCfgCapSize, 0, 0);
        body[VirtioPciRegisters.CapBar - PciCapability.HeaderSize] = 0;
        byte[] mask = new byte[body.Length];
        mask[VirtioPciRegisters.CapBar - PciCapability.HeaderSize] = byte.MaxValue;
        mask.AsSpan(VirtioPciRegisters.CapOffset - PciCapability.HeaderSize, sizeof(uint) * 2).Fill(byte.MaxValue);
        return new PciCapability(PciCapabilityId.VendorSpecific, [.. body], [.. mask]);
    }
}
