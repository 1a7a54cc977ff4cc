namespace ActorVmm.Machine.Vcpu;

/// <summary>
/// What a backend implements for one vCPU: run guest code on the calling (vCPU) thread until an
/// exit the run loop must see. The shared <see cref="VcpuThread"/> owns the thread and the
/// pause/resume/stop state machine, so both backends behave the same.
/// </summary>
public interface IVcpuCore : IDisposable
{
    /// <summary>vCPU id.</summary>
    int Id { get; }

    /// <summary>Loads an entry state; called before the first <see cref="Run"/>.</summary>
    void SetEntryState(VcpuEntryState entry);

    /// <summary>
    /// Runs the guest on the calling thread, dispatching port I/O and MMIO through the trap table,
    /// until halt, a guest shutdown/reset, an internal error, or <see cref="RequestExit"/>.
    /// A halted core returns <see cref="VcpuExitReason.Halt"/> again (without executing) until an
    /// interrupt is deliverable.
    /// </summary>
    VcpuExit Run();

    /// <summary>From any thread: makes the current or next <see cref="Run"/> return promptly with <see cref="VcpuExitReason.Interrupted"/>.</summary>
    void RequestExit();
}
