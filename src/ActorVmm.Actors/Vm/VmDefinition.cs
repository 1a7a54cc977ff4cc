using ActorVmm.Actors.Console;
using ActorVmm.Devices;
using ActorVmm.Devices.Platforms;
using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Vcpu;

namespace ActorVmm.Actors.Vm;

/// <summary>What a VM is made of: backend spec, what it boots, devices, console and reset policy.</summary>
/// <param name="Name">VM name (also the VM actor's name).</param>
/// <param name="MemorySize">Guest RAM in bytes, a whole number of 4 KiB pages.</param>
/// <param name="VcpuCount">Number of vCPUs.</param>
/// <param name="Boot">
/// What the boot vCPU starts: a flat binary (<see cref="FlatBinaryBoot"/>; a <c>byte[]</c> converts to one), a Linux
/// kernel with initrd and command line (<see cref="LinuxBoot"/>), or null for nothing loaded.
/// </param>
/// <param name="Devices">The devices besides the platform's and the built-in exit port.</param>
/// <param name="Console">Where guest console output goes.</param>
/// <param name="OnReset">What a guest reset request does.</param>
/// <param name="WithExitPort">Whether the exit port device (0xF4) is added.</param>
/// <param name="Platform">The machine's default devices; null means <see cref="X86Platform.Default"/> (use <see cref="NoPlatform"/> for a bare VM).</param>
/// <param name="DebugIoport">Log unhandled port accesses (kvmtool's <c>--debug-ioport</c>).</param>
/// <param name="DebugMmio">Log unhandled MMIO accesses (kvmtool's <c>--debug-mmio</c>).</param>
/// <param name="Map">The address map; null means the platform's (<see cref="IPlatform.Map"/>).</param>
public sealed record VmDefinition(
    string Name,
    ulong MemorySize,
    int VcpuCount,
    BootSource? Boot,
    IReadOnlyList<DeviceDefinition> Devices,
    ConsoleTarget Console,
    ResetAction OnReset = ResetAction.Stop,
    bool WithExitPort = true,
    IPlatform? Platform = null,
    bool DebugIoport = false,
    bool DebugMmio = false,
    MemoryMap? Map = null)
{
    /// <summary>
    /// The backend spec: the RAM laid out by <see cref="Map"/>, else by the platform's map; a Linux guest that halts
    /// every vCPU with interrupts off ends the VM.
    /// </summary>
    public VmSpec Spec => new(Name, MemorySize, VcpuCount, Map ?? EffectivePlatform.Map) { StopWhenHalted = Boot is LinuxBoot };

    /// <summary>The platform this VM boots with.</summary>
    public IPlatform EffectivePlatform => Platform ?? X86Platform.Default;

    /// <summary>Throws <see cref="ArgumentException"/> with a clear message when the definition is unusable.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Name) || !Akka.Actor.ActorPath.IsValidPathElement(Name))
        {
            throw new ArgumentException($"'{Name}' is not a valid VM name (use letters, digits and '-', not starting with '$')");
        }

        Spec.Validate();
        foreach (var device in Devices)
        {
            device.Validate();
        }
    }
}

/// <summary>What a guest reset request (vCPU reset exit, i8042 pulse, port 0x92) does.</summary>
public enum ResetAction
{
    /// <summary>Stop the VM (like QEMU's -no-reboot).</summary>
    Stop = 0,

    /// <summary>Recreate the backend VM and devices, reload what it boots and start again.</summary>
    Reboot = 1,
}

/// <summary>A VM's lifecycle: Created → Running ⇄ Paused → Stopped.</summary>
public enum VmState
{
    /// <summary>Built (devices being added or added); vCPUs not started.</summary>
    Created = 0,

    /// <summary>vCPUs running.</summary>
    Running = 1,

    /// <summary>vCPUs paused by the host.</summary>
    Paused = 2,

    /// <summary>Ended; final.</summary>
    Stopped = 3,
}

/// <summary>Why a VM stopped.</summary>
public enum VmExitReason
{
    /// <summary>The guest wrote its status to the exit port.</summary>
    ExitPort = 0,

    /// <summary>The guest powered off, or halted every vCPU with interrupts off.</summary>
    Shutdown = 1,

    /// <summary>The guest asked for a reset (i8042 reset line, port 0x92, a triple fault) and the VM is configured to stop on reset.</summary>
    Reset = 2,

    /// <summary>The backend could not go on.</summary>
    InternalError = 3,

    /// <summary>The host stopped it.</summary>
    HostStop = 4,

    /// <summary>The VM actor itself failed (reported by the manager).</summary>
    Failed = 5,
}

/// <summary>How a VM ended.</summary>
/// <param name="Reason">Why.</param>
/// <param name="ExitCode">The process exit status it maps to.</param>
/// <param name="Message">Detail, in words.</param>
public sealed record VmExit(VmExitReason Reason, int ExitCode, string? Message = null)
{
    /// <summary>Exit status for a clean guest power-off, reset-stop or host stop.</summary>
    public const int Success = 0;

    /// <summary>Exit status when the backend failed (sysexits' EX_SOFTWARE).</summary>
    public const int SoftwareError = 70;
}
