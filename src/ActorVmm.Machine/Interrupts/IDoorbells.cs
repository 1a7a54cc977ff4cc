namespace ActorVmm.Machine.Interrupts;

/// <summary>
/// Doorbell notifiers, the same on both backends: a guest's queue kick reaches a device's slow path
/// without a register handler running on the vCPU thread. KVM: an ioeventfd the kernel signals
/// without an exit, read by one poller thread per process; emulator: the vCPU's write is matched
/// before the trap table and the callback runs right there.
/// </summary>
public interface IDoorbells
{
    /// <summary>
    /// Registers <paramref name="doorbell"/>; <paramref name="callback"/> runs after the guest rang it, at
    /// least once per ring (rings may be coalesced into one call). The callback must not block: post to
    /// an actor. Dispose the result to remove the doorbell; no callback starts after Dispose returns.
    /// </summary>
    /// <exception cref="ArgumentException">The doorbell is malformed.</exception>
    /// <exception cref="InvalidOperationException">A registered doorbell already claims the same writes.</exception>
    IDisposable Register(Doorbell doorbell, Action callback);
}
