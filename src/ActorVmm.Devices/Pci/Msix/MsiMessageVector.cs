namespace ActorVmm.Devices.Pci.Msix;

/// <summary>
/// An <see cref="IMsiVector"/> for platforms that deliver MSI as a message per interrupt (KVM_SIGNAL_MSI, an emulated
/// local APIC) rather than through a route: it keeps the latest message and sends it on each trigger.
/// </summary>
/// <param name="send">Delivers one message (address, data); must not block.</param>
public sealed class MsiMessageVector(Action<ulong, uint> send) : IMsiVector
{
    private readonly Action<ulong, uint> _send = send ?? throw new ArgumentNullException(nameof(send));
    private ulong _address;
    private uint _data;

    /// <inheritdoc />
    public void Update(ulong address, uint data)
    {
        _address = address;
        _data = data;
    }

    /// <inheritdoc />
    public void Trigger() => _send(_address, _data);
}
