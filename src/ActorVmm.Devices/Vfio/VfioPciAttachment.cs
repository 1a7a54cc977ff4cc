using ActorVmm.Devices.Pci;
using ActorVmm.Machine.Passthrough;

namespace ActorVmm.Devices.Vfio;

/// <summary>
/// A host device given to one VM: opened and read before the VM exists (so the platform can give its function a slot and
/// BARs), and bound to the VM's passthrough services on the first incarnation (DMA windows, slots, irqfds come from the
/// backend through <see cref="DeviceEnvironment.Passthrough"/>). Disposing it closes everything it opened.
/// </summary>
public sealed class VfioPciAttachment : IDisposable
{
    private readonly Lock _lock = new();
    private VfioPciPassthrough? _passthrough;
    private bool _disposed;

    /// <summary>Reads <paramref name="device"/>'s layout; the attachment owns the device from here on.</summary>
    /// <exception cref="InvalidOperationException">The device cannot be passed through.</exception>
    public VfioPciAttachment(string name, IVfioDevice device)
    {
        Name = name ?? throw new ArgumentNullException(nameof(name));
        Device = device ?? throw new ArgumentNullException(nameof(device));
        Layout = VfioPciLayout.Read(device);
    }

    /// <summary>The device's name in the VM.</summary>
    public string Name { get; }

    /// <summary>The host device.</summary>
    public IVfioDevice Device { get; }

    /// <summary>What the guest sees.</summary>
    public VfioPciLayout Layout { get; }

    /// <summary>The device as the platform's PCI bus takes it.</summary>
    public PciDeviceDefinition Definition => new(Name, Layout.Definition, Create);

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        if (_passthrough is { } passthrough)
        {
            passthrough.Dispose();
        }
        else
        {
            Device.Dispose();
        }
    }

    private VfioPciDevice Create(PciDeviceContext context)
    {
        VfioPciPassthrough passthrough;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var host = context.Device.Environment.Passthrough
                ?? throw new InvalidOperationException($"{Name} ({Device.HostAddress}): this backend cannot pass a device through (it needs KVM)");
            passthrough = _passthrough ??= new VfioPciPassthrough(Device, host, Layout);
        }

        return VfioPciDevice.Create(passthrough, context);
    }
}
