using System.Runtime.InteropServices;

namespace ActorVmm.Kvm.Interop;

/// <summary>A KVM ioctl (or the mmap/eventfd around it) failed; the message names the call and the errno.</summary>
public sealed class KvmIoctlException : IOException
{
    /// <summary>Creates the exception from a failed call's name and errno.</summary>
    public KvmIoctlException(string call, int errno, string? detail = null)
        : base($"{call} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}){(detail is null ? string.Empty : $"; {detail}")}")
    {
        Call = call;
        Errno = errno;
    }

    /// <summary>The C name of the call (KVM_CREATE_VM, mmap of kvm_run, …).</summary>
    public string Call { get; }

    /// <summary>The errno value.</summary>
    public int Errno { get; }
}
