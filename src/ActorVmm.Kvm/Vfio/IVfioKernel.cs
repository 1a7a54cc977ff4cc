using ActorVmm.Kvm.Interop;

namespace ActorVmm.Kvm.Vfio;

/// <summary>
/// The narrow seam between VFIO set-up and the kernel: the files opened, the sysfs entries read, and every VFIO
/// ioctl on the container, group and device fds with the header-checked structs. The real implementation is
/// <see cref="VfioKernel"/>; tests substitute a fake that plays a host's devices and groups.
/// </summary>
internal interface IVfioKernel
{
    /// <summary>open(2) read-write, close-on-exec; returns the fd or the errno.</summary>
    SafeFdHandle? Open(string path, out int errno);

    /// <summary>The target of a sysfs symbolic link's last path component (a driver name, a group number), or null when absent.</summary>
    string? ReadLinkName(string path);

    /// <summary>A sysfs attribute's text, trimmed, or null when absent.</summary>
    string? ReadText(string path);

    /// <summary>The entry names of a sysfs directory (empty when absent).</summary>
    IReadOnlyList<string> List(string path);

    /// <summary>An ioctl with an integer argument; returns the result or -errno.</summary>
    int Ioctl(SafeFdHandle fd, uint request, nint arg);

    /// <summary>
    /// An ioctl whose argument is a buffer the kernel reads and may fill (argsz first, except the int fd that
    /// VFIO_GROUP_SET_CONTAINER reads through its pointer); returns the result or -errno.
    /// </summary>
    int Ioctl(SafeFdHandle fd, uint request, Span<byte> buffer);

    /// <summary>VFIO_GROUP_GET_DEVICE_FD with the device's name; returns the fd or null with the errno.</summary>
    SafeFdHandle? GetDeviceFd(SafeFdHandle group, string name, out int errno);

    /// <summary>pread(2); returns bytes read or -errno.</summary>
    nint Pread(SafeFdHandle fd, Span<byte> data, long offset);

    /// <summary>pwrite(2); returns bytes written or -errno.</summary>
    nint Pwrite(SafeFdHandle fd, ReadOnlySpan<byte> data, long offset);

    /// <summary>mmap(2) shared, read-write; returns the address or 0 with the errno.</summary>
    nint Mmap(SafeFdHandle fd, ulong size, long offset, out int errno);

    /// <summary>munmap(2).</summary>
    void Munmap(nint address, ulong size);
}
