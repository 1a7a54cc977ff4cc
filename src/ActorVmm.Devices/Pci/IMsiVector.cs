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

    /// <summary>
    /// Whether the vector may deliver now changed (masked: MSI-X off, the function masked or the vector's own mask bit
    /// set). Vectors only ever raised through <see cref="Trigger"/> need nothing here (the table holds them pending);
    /// a vector the device raises behind the table's back (a passed-through function signalling an irqfd) must stop
    /// delivering while masked. Called once for every vector when the function starts or is rebuilt, then on changes.
    /// </summary>
    void SetMasked(bool masked)
    {
    }
}
