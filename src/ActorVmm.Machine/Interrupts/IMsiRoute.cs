namespace ActorVmm.Machine.Interrupts;

/// <summary>
/// An MSI a device keeps and reprograms (one MSI-X table entry, one virtio queue vector). The guest
/// rewrites the message through the device's registers (<see cref="Update"/>, a slow-path call),
/// while the device raises it as often as it likes (<see cref="Trigger"/>): on KVM that is a write
/// to the route's irqfd, with no ioctl and no vCPU exit, so any thread may call it.
/// </summary>
public interface IMsiRoute : IDisposable
{
    /// <summary>The message the route delivers now.</summary>
    MsiMessage Message { get; }

    /// <summary>
    /// Replaces the message. A message outside the interrupt window is kept but delivers nothing,
    /// on both backends, until a valid one replaces it.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The route was disposed.</exception>
    void Update(MsiMessage message);

    /// <summary>Delivers the current message once. From any thread; never blocks.</summary>
    /// <exception cref="ObjectDisposedException">The route was disposed.</exception>
    void Trigger();
}
