namespace ActorVmm.Emulator.Apic;

/// <summary>Non-vectored deliveries a local APIC holds for its core until the core takes them between instructions.</summary>
[Flags]
internal enum ApicEvents
{
    /// <summary>Nothing pending.</summary>
    None = 0,

    /// <summary>INIT: the core resets and waits for a start-up IPI.</summary>
    Init = 1,

    /// <summary>Start-up IPI: a core waiting for one begins in real mode at vector × 4 KiB.</summary>
    StartUp = 2,

    /// <summary>NMI: vector 2, regardless of IF.</summary>
    Nmi = 4,
}
