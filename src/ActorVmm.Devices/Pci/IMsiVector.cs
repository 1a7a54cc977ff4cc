namespace ActorVmm.Devices.Pci;

/// <summary>
/// SEAM (bound by the machine layer's MSI routes): one MSI-X vector of a function as the platform delivers it.
/// <see cref="Update"/> is called whenever the guest changes the vector's message (and once at construction for a
/// rebuilt function with a programmed message), so an updatable route (a KVM GSI route behind an irqfd) always holds
/// the current message; <see cref="Trigger"/> delivers it. The function has already applied masking and pending bits.
/// Both are called synchronously under the function's lock and must not block.
/// </summary>
public interface IMsiVector
{
    /// <summary>The vector's message changed: x86 MSI address (0xFEEx_xxxx) and data (vector, delivery mode).</summary>
    void Update(ulong address, uint data);

    /// <summary>Delivers the vector's current message.</summary>
    void Trigger();
}
