namespace ActorVmm.Machine.Vcpu;

/// <summary>
/// The exits a vCPU core reports to its run loop, in one vocabulary for both backends. Port I/O
/// and MMIO exits never appear here: the core dispatches them through the trap table itself,
/// synchronously on the vCPU thread, and carries on.
/// </summary>
public enum VcpuExitReason
{
    /// <summary>The run was interrupted by a pause or stop request (KVM: EINTR / immediate_exit).</summary>
    Interrupted = 0,

    /// <summary>The guest executed HLT and no interrupt is pending; the loop waits for a wake-up.</summary>
    Halt = 1,

    /// <summary>The guest asked to power off (KVM_SYSTEM_EVENT_SHUTDOWN), or halted every vCPU for good.</summary>
    Shutdown = 2,

    /// <summary>The guest asked for a reset (KVM_SYSTEM_EVENT_RESET, i8042 pulse, port 0x92) or triple-faulted (KVM_EXIT_SHUTDOWN), which resets a PC.</summary>
    Reset = 3,

    /// <summary>The backend could not go on (undefined opcode without handler, fetch outside RAM, KVM internal error, failed entry).</summary>
    InternalError = 4,

    /// <summary>The vCPU was stopped by the host (final state, not a guest event).</summary>
    Stopped = 5,
}

/// <summary>One exit, with diagnostics for internal errors.</summary>
/// <param name="Reason">Why the core returned.</param>
/// <param name="Message">Human-readable detail (error text, shutdown cause).</param>
/// <param name="Diagnostics">Registers and instruction bytes at the failure, when available.</param>
public sealed record VcpuExit(VcpuExitReason Reason, string? Message = null, VcpuDiagnostics? Diagnostics = null)
{
    /// <summary>The exit for a run interrupted on request.</summary>
    public static VcpuExit Interrupted { get; } = new(VcpuExitReason.Interrupted);

    /// <summary>The exit for a halted vCPU.</summary>
    public static VcpuExit Halted { get; } = new(VcpuExitReason.Halt);

    /// <summary>The final exit of a vCPU stopped by the host.</summary>
    public static VcpuExit Stopped { get; } = new(VcpuExitReason.Stopped);
}

/// <summary>Machine state captured at an internal error.</summary>
/// <param name="InstructionPointer">Linear address of the failing instruction.</param>
/// <param name="InstructionBytes">Up to 15 bytes at that address (empty if unreadable).</param>
/// <param name="Registers">General and control registers by name (rax, rip, cr0, …).</param>
public sealed record VcpuDiagnostics(ulong InstructionPointer, byte[] InstructionBytes, IReadOnlyDictionary<string, ulong> Registers)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"rip=0x{InstructionPointer:X} bytes=[{Convert.ToHexString(InstructionBytes)}] " +
        string.Join(' ', Registers.Select(r => $"{r.Key}=0x{r.Value:X}"));
}
