namespace ActorVmm.Machine.Vcpu;

/// <summary>Run state of a vCPU thread.</summary>
public enum VcpuRunState
{
    /// <summary>Created, thread not started.</summary>
    Created = 0,

    /// <summary>Executing guest code (or halted waiting for an interrupt).</summary>
    Running = 1,

    /// <summary>Paused by the host; resumes where it stopped.</summary>
    Paused = 2,

    /// <summary>Finished: stopped by the host or ended by a guest event. Final.</summary>
    Stopped = 3,
}

/// <summary>A vCPU: its own dedicated, named thread, with prompt pause/resume/stop.</summary>
public interface IVcpu
{
    /// <summary>vCPU id (0 is the boot vCPU).</summary>
    int Id { get; }

    /// <summary>Current run state.</summary>
    VcpuRunState State { get; }

    /// <summary>Completes when the thread ends, with the exit that ended it (Stopped, Shutdown, Reset or InternalError).</summary>
    Task<VcpuExit> Completion { get; }

    /// <summary>Sets the architectural state the vCPU starts from. Only before <see cref="Start"/>.</summary>
    void SetEntryState(VcpuEntryState entry);

    /// <summary>Starts the vCPU thread.</summary>
    void Start();

    /// <summary>
    /// Asks the vCPU to pause promptly, even while the guest spins or halts, and returns at once (never blocks or
    /// spins the caller, which may be an actor). The task completes once the vCPU is paused (or stopped, or resumed
    /// before it got there).
    /// </summary>
    Task Pause();

    /// <summary>Resumes a paused vCPU.</summary>
    void Resume();

    /// <summary>Stops promptly; returns once the thread has ended or <paramref name="timeout"/> passed.</summary>
    bool Stop(TimeSpan timeout);
}
