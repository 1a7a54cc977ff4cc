using System.Collections.Immutable;
using ActorVmm.Devices.Pci;

namespace ActorVmm.Devices.Virtio.Pci;

/// <summary>
/// A virtio-pci device's guest-visible state: the PCI function's (configuration space with the BAR, command register
/// and the PCI-config capability's bar/offset/length, the MSI-X table and pending bits), the device core's (features,
/// status, queues with their ring positions and MSI-X vectors) and the transport's own registers.
/// </summary>
/// <param name="Function">The PCI function.</param>
/// <param name="Core">The transport-independent state.</param>
/// <param name="Isr">ISR status bits not yet read.</param>
/// <param name="DeviceFeatureSelect">device_feature_select.</param>
/// <param name="DriverFeatureSelect">driver_feature_select.</param>
/// <param name="QueueSelect">queue_select.</param>
/// <param name="PciCfgData">The PCI-config capability's pci_cfg_data bytes.</param>
public sealed record VirtioPciState(
    PciFunctionState Function,
    VirtioCoreState Core,
    byte Isr,
    uint DeviceFeatureSelect,
    uint DriverFeatureSelect,
    ushort QueueSelect,
    ImmutableArray<byte> PciCfgData) : DeviceState
{
    /// <summary>Bytes of pci_cfg_data.</summary>
    public const int PciCfgDataLength = sizeof(uint);

    /// <inheritdoc />
    public override void Validate()
    {
        Require(Function is not null, "the PCI function state is missing");
        Function!.Validate();
        Require(Core is not null, "the device core state is missing");
        Core!.Validate(Require);
        Require((Isr & ~VirtioPciRegisters.IsrBits) == 0, $"ISR 0x{Isr:X2} has bits no event sets");
        Require(Core.Queues.Length <= VirtioPciLayout.MaxQueues, $"{Core.Queues.Length} queues, the transport has room for {VirtioPciLayout.MaxQueues}");
        Require(Core.Config.Length <= VirtioPciLayout.DeviceCfgLength, $"configuration space of {Core.Config.Length} bytes does not fit the device configuration window");
        Require(IsVector(Core.ConfigMsixVector) && Core.Queues.All(q => IsVector(q.MsixVector)), $"an MSI-X vector outside the table of {VirtioPciLayout.MsixVectors}");
        Require(!PciCfgData.IsDefault && PciCfgData.Length == PciCfgDataLength, $"pci_cfg_data must be {PciCfgDataLength} bytes");
    }

    private static bool IsVector(ushort vector) => vector == VirtioPciRegisters.NoVector || vector < VirtioPciLayout.MsixVectors;
}
