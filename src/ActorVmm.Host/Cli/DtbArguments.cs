namespace ActorVmm.Host.Cli;

/// <summary>The raw values of <c>actorvmm dtb</c>'s options, before validation.</summary>
public sealed record DtbArguments
{
    /// <summary>--arch: the machine whose tree is written (arm64; x86 boots without one).</summary>
    public string Arch { get; init; } = DtbCommand.DefaultArch;

    /// <summary>-m/--mem, as for <c>run</c>.</summary>
    public string Memory { get; init; } = RunPlanner.DefaultMemory;

    /// <summary>-c/--cpus.</summary>
    public int Cpus { get; init; } = 1;

    /// <summary>--disk, repeatable: one virtio-blk transport per image (the images are only checked to exist).</summary>
    public IReadOnlyList<string> Disks { get; init; } = [];

    /// <summary>--rng: a virtio-rng transport.</summary>
    public bool Rng { get; init; }

    /// <summary>--pci: a PCI host bridge (ECAM).</summary>
    public bool Pci { get; init; }

    /// <summary>-p/--params: the kernel command line written to /chosen/bootargs.</summary>
    public string? Params { get; init; }

    /// <summary>-o/--output: the DTB file.</summary>
    public string? Output { get; init; }
}
