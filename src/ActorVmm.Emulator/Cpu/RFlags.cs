namespace ActorVmm.Emulator.Cpu;

/// <summary>RFLAGS bits (Intel SDM vol. 1, 3.4.3).</summary>
internal static class RFlags
{
    /// <summary>Carry flag.</summary>
    public const ulong CF = 1UL << 0;

    /// <summary>Bit 1 always reads as one.</summary>
    public const ulong Reserved1 = 1UL << 1;

    /// <summary>Parity flag (even parity of the low result byte).</summary>
    public const ulong PF = 1UL << 2;

    /// <summary>Auxiliary carry (carry out of bit 3).</summary>
    public const ulong AF = 1UL << 4;

    /// <summary>Zero flag.</summary>
    public const ulong ZF = 1UL << 6;

    /// <summary>Sign flag.</summary>
    public const ulong SF = 1UL << 7;

    /// <summary>Trap flag (single step).</summary>
    public const ulong TF = 1UL << 8;

    /// <summary>Interrupt enable flag.</summary>
    public const ulong IF = 1UL << 9;

    /// <summary>Direction flag for string instructions.</summary>
    public const ulong DF = 1UL << 10;

    /// <summary>Overflow flag.</summary>
    public const ulong OF = 1UL << 11;

    /// <summary>Nested task.</summary>
    public const ulong NT = 1UL << 14;

    /// <summary>Resume flag.</summary>
    public const ulong RF = 1UL << 16;

    /// <summary>Alignment check.</summary>
    public const ulong AC = 1UL << 18;

    /// <summary>CPUID-available flag (writable means CPUID exists).</summary>
    public const ulong ID = 1UL << 21;

    /// <summary>The six arithmetic status flags.</summary>
    public const ulong Status = CF | PF | AF | ZF | SF | OF;

    /// <summary>Bits a guest may change with POPF at ring 0.</summary>
    public const ulong Writable = Status | TF | IF | DF | NT | AC | ID | (3UL << 12);
}
