using System.Runtime.CompilerServices;
using ActorVmm.Machine.Interop;

namespace ActorVmm.Kvm.Interop;

/// <summary>
/// KVM ioctl request numbers, built like the kernel's _IO/_IOR/_IOW/_IOWR macros from the C#
/// struct sizes (so a wrong struct size also shows up as a wrong request number in the header check).
/// </summary>
[CConstants]
internal static class KvmIoctls
{
    public const uint KVMIO = 0xAE;

    // /dev/kvm ioctls.
    public static readonly uint KVM_GET_API_VERSION = _IO(KVMIO, 0x00);
    public static readonly uint KVM_CREATE_VM = _IO(KVMIO, 0x01);
    public static readonly uint KVM_CHECK_EXTENSION = _IO(KVMIO, 0x03);
    public static readonly uint KVM_GET_VCPU_MMAP_SIZE = _IO(KVMIO, 0x04);
    public static readonly uint KVM_GET_SUPPORTED_CPUID = _IOWR<kvm_cpuid2>(KVMIO, 0x05);

    // VM ioctls.
    public static readonly uint KVM_CREATE_VCPU = _IO(KVMIO, 0x41);
    public static readonly uint KVM_SET_USER_MEMORY_REGION = _IOW<kvm_userspace_memory_region>(KVMIO, 0x46);
    public static readonly uint KVM_SET_TSS_ADDR = _IO(KVMIO, 0x47);
    public static readonly uint KVM_SET_IDENTITY_MAP_ADDR = _IOW<ulong>(KVMIO, 0x48);
    public static readonly uint KVM_CREATE_IRQCHIP = _IO(KVMIO, 0x60);
    public static readonly uint KVM_IRQ_LINE = _IOW<kvm_irq_level>(KVMIO, 0x61);
    public static readonly uint KVM_SET_GSI_ROUTING = _IOW<kvm_irq_routing>(KVMIO, 0x6A);
    public static readonly uint KVM_REGISTER_COALESCED_MMIO = _IOW<kvm_coalesced_mmio_zone>(KVMIO, 0x67);
    public static readonly uint KVM_UNREGISTER_COALESCED_MMIO = _IOW<kvm_coalesced_mmio_zone>(KVMIO, 0x68);
    public static readonly uint KVM_IRQFD = _IOW<kvm_irqfd>(KVMIO, 0x76);
    public static readonly uint KVM_CREATE_PIT2 = _IOW<kvm_pit_config>(KVMIO, 0x77);
    public static readonly uint KVM_IOEVENTFD = _IOW<kvm_ioeventfd>(KVMIO, 0x79);
    public static readonly uint KVM_ENABLE_CAP = _IOW<kvm_enable_cap>(KVMIO, 0xA3);
    public static readonly uint KVM_SIGNAL_MSI = _IOW<kvm_msi>(KVMIO, 0xA5);

    // vCPU ioctls.
    public static readonly uint KVM_RUN = _IO(KVMIO, 0x80);
    public static readonly uint KVM_GET_REGS = _IOR<kvm_regs>(KVMIO, 0x81);
    public static readonly uint KVM_SET_REGS = _IOW<kvm_regs>(KVMIO, 0x82);
    public static readonly uint KVM_GET_SREGS = _IOR<kvm_sregs>(KVMIO, 0x83);
    public static readonly uint KVM_SET_SREGS = _IOW<kvm_sregs>(KVMIO, 0x84);
    public static readonly uint KVM_GET_MSRS = _IOWR<kvm_msrs>(KVMIO, 0x88);
    public static readonly uint KVM_SET_MSRS = _IOW<kvm_msrs>(KVMIO, 0x89);
    public static readonly uint KVM_GET_FPU = _IOR<kvm_fpu>(KVMIO, 0x8C);
    public static readonly uint KVM_SET_FPU = _IOW<kvm_fpu>(KVMIO, 0x8D);
    public static readonly uint KVM_GET_LAPIC = _IOR<kvm_lapic_state>(KVMIO, 0x8E);
    public static readonly uint KVM_SET_LAPIC = _IOW<kvm_lapic_state>(KVMIO, 0x8F);
    public static readonly uint KVM_SET_CPUID2 = _IOW<kvm_cpuid2>(KVMIO, 0x90);
    public static readonly uint KVM_GET_MP_STATE = _IOR<kvm_mp_state>(KVMIO, 0x98);

    // asm-generic/ioctl.h: direction in bits 30-31, size in 16-29, type in 8-15, number in 0-7.
    private const int IOC_NRSHIFT = 0;
    private const int IOC_TYPESHIFT = 8;
    private const int IOC_SIZESHIFT = 16;
    private const int IOC_DIRSHIFT = 30;
    private const uint IOC_NONE = 0;
    private const uint IOC_WRITE = 1;
    private const uint IOC_READ = 2;

    private static uint _IOC(uint dir, uint type, uint nr, uint size) =>
        (dir << IOC_DIRSHIFT) | (type << IOC_TYPESHIFT) | (nr << IOC_NRSHIFT) | (size << IOC_SIZESHIFT);

    /// <summary>_IO: a request with no argument size in its number (the KVM ioctls without one, every VFIO ioctl).</summary>
    internal static uint _IO(uint type, uint nr) => _IOC(IOC_NONE, type, nr, 0);

    /// <summary>_IOR: the kernel writes a <typeparamref name="T"/> back (KVM, tun).</summary>
    internal static uint _IOR<T>(uint type, uint nr)
        where T : unmanaged => _IOC(IOC_READ, type, nr, (uint)Unsafe.SizeOf<T>());

    /// <summary>_IOW: the kernel reads a <typeparamref name="T"/> (KVM, tun).</summary>
    internal static uint _IOW<T>(uint type, uint nr)
        where T : unmanaged => _IOC(IOC_WRITE, type, nr, (uint)Unsafe.SizeOf<T>());

    private static uint _IOWR<T>(uint type, uint nr)
        where T : unmanaged => _IOC(IOC_READ | IOC_WRITE, type, nr, (uint)Unsafe.SizeOf<T>());
}
