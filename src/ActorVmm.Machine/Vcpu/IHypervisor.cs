using ActorVmm.Machine.Layout;

namespace ActorVmm.Machine.Vcpu;

/// <summary>A backend that can create virtual machines (KVM, or the software emulator).</summary>
public interface IHypervisor : IDisposable
{
    /// <summary>Backend name for logs ("kvm", "emulator").</summary>
    string Name { get; }

    /// <summary>Creates a VM with guest RAM and vCPUs (not yet started).</summary>
    IVirtualMachine CreateVm(VmSpec spec);
}

/// <summary>What a VM is made of.</summary>
/// <param name="Name">VM name for logs and thread names.</param>
/// <param name="MemorySize">Guest RAM in bytes, a whole number of 4 KiB pages.</param>
/// <param name="VcpuCount">Number of vCPUs (1..<see cref="MaxVcpus"/>).</param>
/// <param name="Map">The machine's address map; null means <see cref="MemoryMap.X86"/>.</param>
public sealed record VmSpec(string Name, ulong MemorySize, int VcpuCount = 1, MemoryMap? Map = null)
{
    /// <summary>Upper bound on vCPUs per VM.</summary>
    public const int MaxVcpus = 64;

    /// <summary>The address map the VM is built with.</summary>
    public MemoryMap EffectiveMap => Map ?? MemoryMap.X86;

    /// <summary>
    /// End the VM (a Shutdown exit) once every vCPU is halted with interrupts off, which nothing in the guest can undo.
    /// On for Linux guests, whose halt and poweroff end that way without ACPI; off by default because flat test
    /// guests park in <c>cli; hlt</c> until the host stops them (fleet --hold). The KVM backend honours it.
    /// </summary>
    public bool StopWhenHalted { get; init; }

    /// <summary>The VM's layout: <see cref="EffectiveMap"/> applied to <see cref="MemorySize"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The map does not accept the RAM size.</exception>
    public MemoryLayout Layout => EffectiveMap.Layout(MemorySize);

    /// <summary>Throws <see cref="ArgumentException"/> with a clear message when the spec is unusable.</summary>
    public void Validate()
    {
        if (VcpuCount is < 1 or > MaxVcpus)
        {
            throw new ArgumentException($"A VM needs between 1 and {MaxVcpus} vCPUs, not {VcpuCount}");
        }

        if (MemorySize == 0 || MemorySize % 4096 != 0)
        {
            throw new ArgumentException($"Guest memory must be a non-zero multiple of 4 KiB, not {MemorySize} bytes");
        }

        if (MemorySize > EffectiveMap.MaxRamSize)
        {
            throw new ArgumentException($"Guest memory of {MemorySize} bytes is more than the {EffectiveMap.Architecture} map takes (0x{EffectiveMap.MaxRamSize:X} bytes)");
        }
    }
}
