using System.Runtime.InteropServices;

namespace ActorVmm.Kvm.Interop;

/// <summary>ioctl wrappers that turn a failure into a <see cref="KvmIoctlException"/> naming the ioctl.</summary>
internal static class KvmCalls
{
    /// <summary>Issues an ioctl with an integer (or no) argument; returns its non-negative result.</summary>
    public static int Ioctl(SafeFdHandle fd, uint request, nint arg, string name)
    {
        int rc = Libc.ioctl(fd, request, arg);
        if (rc < 0)
        {
            throw new KvmIoctlException(name, Marshal.GetLastPInvokeError());
        }

        return rc;
    }

    /// <summary>Issues an ioctl whose argument points at <paramref name="arg"/>.</summary>
    public static unsafe int Ioctl<T>(SafeFdHandle fd, uint request, ref T arg, string name)
        where T : unmanaged
    {
        // Safe: arg is pinned for the duration of the call and the kernel reads/writes exactly
        // sizeof(T) bytes, the size encoded in the request number (checked by the header test).
        fixed (T* p = &arg)
        {
            return Ioctl(fd, request, (nint)p, name);
        }
    }

    /// <summary>Issues an ioctl whose argument is a variable-length buffer (kvm_cpuid2, kvm_msrs).</summary>
    public static unsafe int Ioctl(SafeFdHandle fd, uint request, Span<byte> buffer, string name)
    {
        // Safe: the buffer is pinned for the call and sized for the header plus the entry count it declares.
        fixed (byte* p = buffer)
        {
            return Ioctl(fd, request, (nint)p, name);
        }
    }
}
