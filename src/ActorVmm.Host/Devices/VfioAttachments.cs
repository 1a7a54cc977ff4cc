using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Vfio;
using ActorVmm.Kvm.Vfio;
using ActorVmm.Machine.Passthrough;

namespace ActorVmm.Host.Devices;

/// <summary>The --vfio-pci devices of one run: opened before the VM (vfio0, vfio1, … in command-line order), closed after it.</summary>
internal sealed class VfioAttachments : IDisposable
{
    private readonly List<VfioPciAttachment> _attachments = [];

    /// <summary>The devices as the platform's PCI bus takes them.</summary>
    public IReadOnlyList<PciDeviceDefinition> Definitions => [.. _attachments.Select(a => a.Definition)];

    /// <summary>Opens every address (DMA is mapped once the VM's RAM exists).</summary>
    /// <exception cref="VfioSetupException">A device cannot be opened; the message says what to do.</exception>
    /// <exception cref="InvalidOperationException">A device cannot be passed through.</exception>
    public void Open(IReadOnlyList<VfioPciAddress> addresses)
    {
        foreach (var address in addresses)
        {
            var device = VfioHostDevice.Open(address, []);
            try
            {
                _attachments.Add(new VfioPciAttachment($"vfio{_attachments.Count}", device));
            }
            catch
            {
                device.Dispose();
                throw;
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var attachment in _attachments)
        {
            attachment.Dispose();
        }
    }
}
