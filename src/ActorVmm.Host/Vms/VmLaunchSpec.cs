using ActorVmm.Machine.Boot;

namespace ActorVmm.Host.Vms;

/// <summary>Everything needed to create and start one VM.</summary>
/// <param name="Name">Unique VM name.</param>
/// <param name="MemorySize">Guest RAM in bytes (a multiple of 4 KiB).</param>
/// <param name="VcpuCount">Number of vCPUs.</param>
/// <param name="Boot">What it boots: a flat binary loaded at 0x10000, or a Linux kernel.</param>
/// <param name="Console">Where COM1's output goes (null: discarded).</param>
public sealed record VmLaunchSpec(string Name, ulong MemorySize, int VcpuCount, BootSource Boot, Stream? Console)
{
    /// <summary>Restart the guest when it resets instead of ending the VM.</summary>
    public bool Reboot { get; init; }

    /// <summary>Log unhandled port accesses.</summary>
    public bool DebugIoport { get; init; }

    /// <summary>Log unhandled MMIO accesses.</summary>
    public bool DebugMmio { get; init; }
}
