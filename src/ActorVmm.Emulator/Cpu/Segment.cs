namespace ActorVmm.Emulator.Cpu;

/// <summary>A segment register with its hidden descriptor cache.</summary>
internal struct Segment
{
    /// <summary>Visible selector.</summary>
    public ushort Selector;

    /// <summary>Cached base address.</summary>
    public ulong Base;

    /// <summary>Cached limit in bytes (granularity applied).</summary>
    public uint Limit;

    /// <summary>Descriptor bits 40..55 (access byte and flags nibble), shifted down by 40.</summary>
    public uint Attributes;

    /// <summary>D/B bit: 32-bit default operand size (code) or 32-bit stack (SS).</summary>
    public readonly bool Big => (Attributes & (1u << 14)) != 0;

    /// <summary>DPL: the descriptor's privilege level (access byte bits 5-6).</summary>
    public readonly int DescriptorPrivilegeLevel => (int)(Attributes >> 5) & 3;

    /// <summary>L bit: 64-bit code segment.</summary>
    public readonly bool Long => (Attributes & (1u << 13)) != 0;
}
