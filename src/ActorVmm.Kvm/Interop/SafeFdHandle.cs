using System.Runtime.InteropServices;

namespace ActorVmm.Kvm.Interop;

/// <summary>A Linux file descriptor (/dev/kvm, a VM, a vCPU, an eventfd) closed exactly once by the runtime.</summary>
internal sealed class SafeFdHandle : SafeHandle
{
    /// <summary>Used by the interop marshaller for returned descriptors.</summary>
    public SafeFdHandle()
        : base(invalidHandleValue: -1, ownsHandle: true)
    {
    }

    /// <summary>Takes ownership of a descriptor returned as an ioctl result (KVM_CREATE_VM, KVM_CREATE_VCPU).</summary>
    public SafeFdHandle(int fd)
        : base(invalidHandleValue: -1, ownsHandle: true)
    {
        SetHandle(fd);
    }

    private SafeFdHandle(int fd, bool ownsHandle)
        : base(invalidHandleValue: -1, ownsHandle)
    {
        SetHandle(fd);
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle < 0;

    /// <summary>A handle for a descriptor someone else owns and closes (it is never closed through this one).</summary>
    public static SafeFdHandle Borrow(int fd) => new(fd, ownsHandle: false);

    /// <summary>The raw descriptor number (for structs such as kvm_irqfd that carry one).</summary>
    public int Fd => (int)handle;

    /// <inheritdoc />
    protected override bool ReleaseHandle() => Libc.close((int)handle) == 0;
}
