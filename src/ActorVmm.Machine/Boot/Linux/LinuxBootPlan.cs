namespace ActorVmm.Machine.Boot.Linux;

/// <summary>Where a Linux boot puts everything in guest RAM, all checked against the VM's layout.</summary>
/// <param name="KernelAddress">Load address (and runtime start) of the protected-mode code.</param>
/// <param name="KernelInitEnd">One past the kernel's init_size area.</param>
/// <param name="EntryPoint">startup_64.</param>
/// <param name="InitrdAddress">Where the initrd starts (0 without one).</param>
/// <param name="InitrdSize">Its size in bytes (0 without one).</param>
/// <param name="CommandLine">The command line's bytes, without the terminating zero.</param>
/// <param name="E820">The memory map handed to the kernel.</param>
public sealed record LinuxBootPlan(
    ulong KernelAddress,
    ulong KernelInitEnd,
    ulong EntryPoint,
    ulong InitrdAddress,
    ulong InitrdSize,
    byte[] CommandLine,
    IReadOnlyList<E820Entry> E820);
