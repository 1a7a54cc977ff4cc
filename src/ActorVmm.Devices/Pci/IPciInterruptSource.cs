namespace ActorVmm.Devices.Pci;

/// <summary>
/// SEAM (bound by the machine layer's shared level-triggered lines): one function's input to the interrupt line its
/// INTx pin is swizzled to. Several functions may share a line; the binding ORs their levels. A function drives it
/// synchronously under its lock, only when its effective level changes; implementations must not block.
/// </summary>
public interface IPciInterruptSource
{
    /// <summary>Asserts (true) or deasserts this source's level.</summary>
    void SetLevel(bool asserted);
}
