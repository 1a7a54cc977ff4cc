using ActorVmm.Machine.Boot.Linux;
using ActorVmm.Machine.Vcpu;

namespace ActorVmm.Machine.Boot;

/// <summary>Loads any <see cref="BootSource"/> into a created VM and returns the boot vCPU's entry state.</summary>
public static class BootLoader
{
    /// <summary>Loads <paramref name="source"/> into <paramref name="vm"/>'s RAM (firmware tables included).</summary>
    /// <exception cref="InvalidDataException">A flat binary that does not fit.</exception>
    /// <exception cref="LinuxBootException">A kernel, initrd or command line that cannot boot in this VM.</exception>
    public static VcpuEntryState Load(IVirtualMachine vm, BootSource source)
    {
        ArgumentNullException.ThrowIfNull(vm);
        ArgumentNullException.ThrowIfNull(source);
        return source switch
        {
            FlatBinaryBoot flat => FlatBinaryLoader.Load(vm.Memory, flat.Image),
            LinuxBoot linux => LinuxLoader.Load(vm.Memory, vm.Layout, linux, vm.Vcpus.Count),
            _ => throw new NotSupportedException($"No loader for {source.GetType().Name}"),
        };
    }
}
