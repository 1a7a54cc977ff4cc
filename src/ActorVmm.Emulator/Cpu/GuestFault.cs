namespace ActorVmm.Emulator.Cpu;

/// <summary>An architectural exception raised by a guest instruction, delivered through the IVT/IDT.</summary>
internal sealed class GuestFault : Exception
{
    public GuestFault(byte vector, uint? errorCode = null)
        : base($"x86 exception {vector}")
    {
        Vector = vector;
        ErrorCode = errorCode;
    }

    /// <summary>The exception vector (0..31).</summary>
    public byte Vector { get; }

    /// <summary>The error code pushed for vectors that have one.</summary>
    public uint? ErrorCode { get; }
}

/// <summary>The emulator cannot go on with this guest (fetch outside RAM, unsupported instruction).</summary>
internal sealed class EmulationException : Exception
{
    public EmulationException(string message)
        : base(message)
    {
    }
}

/// <summary>Exception vectors used by the core (Intel SDM vol. 3, table 6-1).</summary>
internal static class ExceptionVector
{
    /// <summary>Divide error.</summary>
    public const byte DE = 0;

    /// <summary>Breakpoint (INT3).</summary>
    public const byte BP = 3;

    /// <summary>Overflow (INTO).</summary>
    public const byte OF = 4;

    /// <summary>Invalid opcode.</summary>
    public const byte UD = 6;

    /// <summary>Device not available (x87/SSE with CR0.TS or CR0.EM).</summary>
    public const byte NM = 7;

    /// <summary>Double fault.</summary>
    public const byte DF = 8;

    /// <summary>Invalid TSS.</summary>
    public const byte TS = 10;

    /// <summary>Segment not present.</summary>
    public const byte NP = 11;

    /// <summary>Stack-segment fault.</summary>
    public const byte SS = 12;

    /// <summary>General protection.</summary>
    public const byte GP = 13;

    /// <summary>Page fault.</summary>
    public const byte PF = 14;

    /// <summary>x87 floating-point error (an unmasked x87 exception, reported at the next waiting x87 instruction).</summary>
    public const byte MF = 16;

    /// <summary>SIMD floating-point exception (an unmasked MXCSR exception with CR4.OSXMMEXCPT set).</summary>
    public const byte XM = 19;

    /// <summary>True for the vectors that push an error code in protected mode.</summary>
    public static bool HasErrorCode(byte vector) => vector is DF or TS or NP or SS or GP or PF or 17;
}
