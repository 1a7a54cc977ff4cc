namespace ActorVmm.Emulator.Tests.Linux;

/// <summary>A fact that runs only where ACTORVMM_EMU_VMLINUX and ACTORVMM_EMU_BZIMAGE name a kernel; elsewhere skipped.</summary>
public sealed class LinuxKernelFactAttribute : FactAttribute
{
    public LinuxKernelFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("ACTORVMM_EMU_VMLINUX") is null || Environment.GetEnvironmentVariable("ACTORVMM_EMU_BZIMAGE") is null)
        {
            Skip = "Skipped: set ACTORVMM_EMU_VMLINUX and ACTORVMM_EMU_BZIMAGE to a Debian kernel (docs/emulator.md)";
        }
    }
}
