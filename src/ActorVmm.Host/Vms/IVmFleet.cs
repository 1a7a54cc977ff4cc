namespace ActorVmm.Host.Vms;

/// <summary>
/// The host's narrow seam to whatever runs VMs (the actor layer's VM manager, or the machine layer
/// directly): launch by spec, find by name, and control each VM through its <see cref="IVmHandle"/>.
/// The CLI, the fleet view and the control socket depend only on this.
/// </summary>
public interface IVmFleet : IAsyncDisposable
{
    /// <summary>Creates and starts a VM. Throws <see cref="VmLaunchException"/> when it cannot be created.</summary>
    Task<IVmHandle> LaunchAsync(VmLaunchSpec spec, CancellationToken cancellationToken);

    /// <summary>The VMs launched so far (running or finished), in launch order.</summary>
    IReadOnlyList<IVmHandle> Vms { get; }

    /// <summary>The VM called <paramref name="name"/>, or null.</summary>
    IVmHandle? Find(string name);
}

/// <summary>One VM as the host sees it.</summary>
public interface IVmHandle
{
    /// <summary>The VM's name (unique in the process).</summary>
    string Name { get; }

    /// <summary>The backend that runs it ("kvm" or "emulator").</summary>
    string Backend { get; }

    /// <summary>Guest RAM in bytes.</summary>
    ulong MemorySize { get; }

    /// <summary>Number of vCPUs.</summary>
    int VcpuCount { get; }

    /// <summary>Current state.</summary>
    VmState State { get; }

    /// <summary>Counters for status tables as of the last <see cref="RefreshAsync"/> (or live, where reading them is free).</summary>
    VmCounters Counters { get; }

    /// <summary>The VM's PCI functions (address, IDs, BARs where they decode) as of the last <see cref="RefreshAsync"/>, one line each.</summary>
    IReadOnlyList<string> PciFunctions { get; }

    /// <summary>Brings <see cref="Counters"/> up to date (asks the VM where its counters live elsewhere).</summary>
    Task RefreshAsync();

    /// <summary>Time from the start of creation to the guest's first trapped access, once it happened.</summary>
    TimeSpan? TimeToFirstExit { get; }

    /// <summary>Completes once the VM has ended, with how it ended. Never faults.</summary>
    Task<VmOutcome> Completion { get; }

    /// <summary>
    /// Sends host console input (typed keys, a pipe) to the guest's COM1 receiver. Completes with true once COM1 has
    /// accepted all of it into its bounded input queue (which waits while the guest has not read earlier input), or
    /// with false when the VM has no such device any more. Send the next chunk only after this completes.
    /// </summary>
    Task<bool> SendConsoleInputAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken);

    /// <summary>Pauses every vCPU; returns once they are paused.</summary>
    Task PauseAsync();

    /// <summary>Resumes a paused VM.</summary>
    Task ResumeAsync();

    /// <summary>Stops the VM (final); <see cref="Completion"/> then reports <see cref="VmOutcomeKind.Stopped"/>.</summary>
    Task StopAsync();
}

/// <summary>Life-cycle state of a VM.</summary>
public enum VmState
{
    /// <summary>Being created.</summary>
    Starting = 0,

    /// <summary>Running guest code (or halted waiting for an interrupt).</summary>
    Running = 1,

    /// <summary>Paused by the host.</summary>
    Paused = 2,

    /// <summary>Ended cleanly (exit port, stop request).</summary>
    Stopped = 3,

    /// <summary>Ended by a fault: every vCPU halted for good, internal error.</summary>
    Failed = 4,
}

/// <summary>A point-in-time view of a VM's counters.</summary>
/// <param name="Exits">Port I/O and MMIO exits dispatched (handled or not).</param>
/// <param name="Restarts">Device or VM restarts done by supervision.</param>
public readonly record struct VmCounters(long Exits, int Restarts);
