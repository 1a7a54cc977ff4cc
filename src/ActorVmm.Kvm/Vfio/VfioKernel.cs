using System.Runtime.InteropServices;
using System.Text;
using ActorVmm.Kvm.Interop;
using ActorVmm.Machine.Interop;

namespace ActorVmm.Kvm.Vfio;

/// <summary>The real <see cref="IVfioKernel"/>: open(2), sysfs, ioctl(2), pread/pwrite(2) and mmap(2).</summary>
internal sealed class VfioKernel : IVfioKernel
{
    /// <summary>The one instance.</summary>
    public static VfioKernel Instance { get; } = new();

    /// <inheritdoc />
    public SafeFdHandle? Open(string path, out int errno)
    {
        int fd = Libc.open(path, Libc.O_RDWR | Libc.O_CLOEXEC);
        errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        return fd < 0 ? null : new SafeFdHandle(fd);
    }

    /// <inheritdoc />
    public string? ReadLinkName(string path)
    {
        try
        {
            var target = new FileInfo(path).LinkTarget;
            return target is null ? null : Path.GetFileName(target.TrimEnd('/'));
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public string? ReadText(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<string> List(string path)
    {
        try
        {
            return Directory.Exists(path) ? [.. Directory.EnumerateFileSystemEntries(path).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)] : [];
        }
        catch (IOException)
        {
            return [];
        }
    }

    /// <inheritdoc />
    public int Ioctl(SafeFdHandle fd, uint request, nint arg)
    {
        int rc = Libc.ioctl(fd, request, arg);
        return rc < 0 ? -Marshal.GetLastPInvokeError() : rc;
    }

    /// <inheritdoc />
    public unsafe int Ioctl(SafeFdHandle fd, uint request, Span<byte> buffer)
    {
        // Safe: the buffer is pinned for the call and its argsz field (set by the caller) tells the kernel its length.
        fixed (byte* p = buffer)
        {
            return Ioctl(fd, request, (nint)p);
        }
    }

    /// <inheritdoc />
    public unsafe SafeFdHandle? GetDeviceFd(SafeFdHandle group, string name, out int errno)
    {
        byte[] cName = Encoding.ASCII.GetBytes(name + "\0");

        // Safe: the NUL-terminated name is pinned for the call; the kernel only reads it.
        fixed (byte* p = cName)
        {
            int fd = Libc.ioctl(group, VfioIoctls.VFIO_GROUP_GET_DEVICE_FD, (nint)p);
            errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
            return fd < 0 ? null : new SafeFdHandle(fd);
        }
    }

    /// <inheritdoc />
    public unsafe nint Pread(SafeFdHandle fd, Span<byte> data, long offset)
    {
        // Safe: the span is pinned and the kernel writes at most data.Length bytes into it.
        fixed (byte* p = data)
        {
            nint n = Libc.pread(fd, p, (nuint)data.Length, offset);
            return n < 0 ? -Marshal.GetLastPInvokeError() : n;
        }
    }

    /// <inheritdoc />
    public unsafe nint Pwrite(SafeFdHandle fd, ReadOnlySpan<byte> data, long offset)
    {
        // Safe: the span is pinned and the kernel reads at most data.Length bytes from it.
        fixed (byte* p = data)
        {
            nint n = Libc.pwrite(fd, p, (nuint)data.Length, offset);
            return n < 0 ? -Marshal.GetLastPInvokeError() : n;
        }
    }

    /// <inheritdoc />
    public nint Mmap(SafeFdHandle fd, ulong size, long offset, out int errno)
    {
        nint address = Libc.mmap(0, (nuint)size, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, fd, offset);
        errno = address == Mman.MAP_FAILED ? Marshal.GetLastPInvokeError() : 0;
        return address == Mman.MAP_FAILED ? 0 : address;
    }

    /// <inheritdoc />
    public void Munmap(nint address, ulong size) => Mman.munmap(address, (nuint)size);
}
