namespace ActorVmm.Machine.Boot.Linux;

/// <summary>
/// A Linux kernel, initrd or command line this loader cannot boot: a truncated or corrupt file, not a bzImage, a
/// boot protocol too old, an initrd or kernel that does not fit in guest RAM, a command line over the kernel's limit.
/// The message is one line naming the limit; the CLI prints it and exits 2.
/// </summary>
public sealed class LinuxBootException : Exception
{
    /// <summary>Creates the exception with the line the user sees.</summary>
    public LinuxBootException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the line the user sees and its cause.</summary>
    public LinuxBootException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
