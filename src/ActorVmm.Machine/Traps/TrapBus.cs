namespace ActorVmm.Machine.Traps;

/// <summary>The two address spaces a guest access can trap on (kvmtool's unified I/O model).</summary>
public enum TrapBus
{
    /// <summary>x86 port I/O (IN/OUT; KVM_EXIT_IO). Addresses 0..0xFFFF.</summary>
    Pio = 0,

    /// <summary>Memory-mapped I/O (KVM_EXIT_MMIO). Full 64-bit guest-physical space.</summary>
    Mmio = 1,
}

/// <summary>Whether the guest reads from or writes to the device.</summary>
public enum TrapDirection
{
    /// <summary>The guest reads: the handler fills the data span.</summary>
    Read = 0,

    /// <summary>The guest writes: the data span holds what it wrote.</summary>
    Write = 1,
}

/// <summary>Per-region registration flags.</summary>
[Flags]
public enum TrapFlags
{
    /// <summary>No special handling.</summary>
    None = 0,

    /// <summary>Writes may be batched by the kernel (coalesced MMIO/PIO); honoured by the KVM backend, ignored elsewhere.</summary>
    Coalesce = 1,
}
