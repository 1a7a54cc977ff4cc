namespace ActorVmm.Machine.Boot;

/// <summary>What a VM boots: a flat binary, or a Linux kernel with its initrd and command line.</summary>
public abstract record BootSource
{
    /// <summary>A flat binary image (the form VM definitions took before Linux boot), or null for none.</summary>
    public static implicit operator BootSource?(byte[]? image) => FromImage(image);

    /// <summary>The named form of the conversion from a flat binary: null stays null.</summary>
    public static BootSource? FromImage(byte[]? image) => image is null ? null : new FlatBinaryBoot(image);
}

/// <summary>A kvmtool-compatible flat binary, loaded at 0x10000 and started in real mode (<see cref="FlatBinaryLoader"/>).</summary>
/// <param name="Image">The binary.</param>
public sealed record FlatBinaryBoot(byte[] Image) : BootSource;

/// <summary>A Linux bzImage booted through the 64-bit boot protocol (<see cref="Linux.LinuxLoader"/>).</summary>
/// <param name="Kernel">The bzImage file.</param>
/// <param name="Initrd">The initial ramdisk, or null for none.</param>
/// <param name="CommandLine">The whole kernel command line.</param>
public sealed record LinuxBoot(byte[] Kernel, byte[]? Initrd, string CommandLine) : BootSource;
