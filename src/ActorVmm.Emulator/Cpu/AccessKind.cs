namespace ActorVmm.Emulator.Cpu;

/// <summary>Why a linear address is translated (page-fault error codes and dirty bits depend on it).</summary>
internal enum AccessKind
{
    /// <summary>A data read.</summary>
    Read = 0,

    /// <summary>A data write.</summary>
    Write = 1,

    /// <summary>An instruction fetch.</summary>
    Fetch = 2,
}
