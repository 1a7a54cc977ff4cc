using ActorVmm.Machine.Layout;

namespace ActorVmm.Devices.Platforms;

/// <summary>
/// A machine's default device set: what a VM gets registered (through its supervisor) before the devices of its
/// VM definition. Called once per boot generation with that generation's backend VM.
/// </summary>
public interface IPlatform
{
    /// <summary>The platform's name for logs ("x86", "arm64", "none").</summary>
    string Name { get; }

    /// <summary>The address map the platform's VMs are built with (their RAM, and where the platform's devices sit).</summary>
    MemoryMap Map { get; }

    /// <summary>The device definitions of the machine for <paramref name="context"/>'s VM.</summary>
    IReadOnlyList<DeviceDefinition> CreateDevices(PlatformContext context);
}
