namespace ActorVmm.Kvm;

/// <summary>What a halt probe found a vCPU doing (KVM_GET_MP_STATE and RFLAGS.IF, read on its own thread).</summary>
internal enum HaltProbe
{
    /// <summary>No answer since the latest request (not started, paused, or busy in a long exit).</summary>
    Unknown = 0,

    /// <summary>Runnable: executing guest code.</summary>
    Running = 1,

    /// <summary>Halted with interrupts on: idle, an interrupt will wake it.</summary>
    Idle = 2,

    /// <summary>Halted with interrupts off: only an NMI, INIT or SMI could wake it.</summary>
    HaltedInterruptsOff = 3,

    /// <summary>An AP that was never started (or was sent INIT): only another vCPU's SIPI starts it.</summary>
    WaitingForSipi = 4,
}
