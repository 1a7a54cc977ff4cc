using ActorVmm.Machine.Interop;

namespace ActorVmm.Kvm.Interop;

/// <summary>Constants from linux/kvm.h and asm/kvm.h, with their C names (checked against the headers).</summary>
[CConstants]
internal static class KvmConstants
{
    public const int KVM_API_VERSION = 12;

    // Exit reasons (kvm_run.exit_reason).
    public const uint KVM_EXIT_UNKNOWN = 0;
    public const uint KVM_EXIT_EXCEPTION = 1;
    public const uint KVM_EXIT_IO = 2;
    public const uint KVM_EXIT_HYPERCALL = 3;
    public const uint KVM_EXIT_DEBUG = 4;
    public const uint KVM_EXIT_HLT = 5;
    public const uint KVM_EXIT_MMIO = 6;
    public const uint KVM_EXIT_IRQ_WINDOW_OPEN = 7;
    public const uint KVM_EXIT_SHUTDOWN = 8;
    public const uint KVM_EXIT_FAIL_ENTRY = 9;
    public const uint KVM_EXIT_INTR = 10;
    public const uint KVM_EXIT_SET_TPR = 11;
    public const uint KVM_EXIT_TPR_ACCESS = 12;
    public const uint KVM_EXIT_NMI = 16;
    public const uint KVM_EXIT_INTERNAL_ERROR = 17;
    public const uint KVM_EXIT_SYSTEM_EVENT = 24;

    // kvm_run.io.direction.
    public const byte KVM_EXIT_IO_IN = 0;
    public const byte KVM_EXIT_IO_OUT = 1;

    // kvm_run.system_event.type.
    public const uint KVM_SYSTEM_EVENT_SHUTDOWN = 1;
    public const uint KVM_SYSTEM_EVENT_RESET = 2;
    public const uint KVM_SYSTEM_EVENT_CRASH = 3;

    // kvm_run.internal.suberror.
    public const uint KVM_INTERNAL_ERROR_EMULATION = 1;
    public const uint KVM_INTERNAL_ERROR_SIMUL_EX = 2;
    public const uint KVM_INTERNAL_ERROR_DELIVERY_EV = 3;

    // Capabilities (KVM_CHECK_EXTENSION).
    public const int KVM_CAP_IRQCHIP = 0;
    public const int KVM_CAP_IRQ_ROUTING = 25;
    public const int KVM_CAP_USER_MEMORY = 3;
    public const int KVM_CAP_SET_TSS_ADDR = 4;
    public const int KVM_CAP_EXT_CPUID = 7;
    public const int KVM_CAP_NR_VCPUS = 9;
    public const int KVM_CAP_COALESCED_MMIO = 15;
    public const int KVM_CAP_IRQFD = 32;
    public const int KVM_CAP_PIT2 = 33;
    public const int KVM_CAP_SET_IDENTITY_MAP_ADDR = 37;
    public const int KVM_CAP_IOEVENTFD = 36;
    public const int KVM_CAP_MAX_VCPUS = 66;
    public const int KVM_CAP_SIGNAL_MSI = 77;
    public const int KVM_CAP_IMMEDIATE_EXIT = 136;
    public const int KVM_CAP_COALESCED_PIO = 162;
    public const int KVM_CAP_TSC_DEADLINE_TIMER = 72;

    // kvm_mp_state.mp_state (KVM_GET_MP_STATE).
    public const uint KVM_MP_STATE_RUNNABLE = 0;
    public const uint KVM_MP_STATE_UNINITIALIZED = 1;
    public const uint KVM_MP_STATE_INIT_RECEIVED = 2;
    public const uint KVM_MP_STATE_HALTED = 3;
    public const uint KVM_MP_STATE_SIPI_RECEIVED = 4;

    // kvm_cpuid_entry2.flags (the kernel's spelling).
    public const uint KVM_CPUID_FLAG_SIGNIFCANT_INDEX = 1;

    // asm/kvm.h (x86).
    public const int KVM_NR_INTERRUPTS = 256;
    public const int KVM_APIC_REG_SIZE = 0x400;
    public const int KVM_COALESCED_MMIO_PAGE_OFFSET = 2;
    public const int KVM_IOAPIC_NUM_PINS = 24;
    public const uint KVM_IRQCHIP_PIC_MASTER = 0;
    public const uint KVM_IRQCHIP_PIC_SLAVE = 1;
    public const uint KVM_IRQCHIP_IOAPIC = 2;

    // kvm_irq_routing_entry.type.
    public const uint KVM_IRQ_ROUTING_IRQCHIP = 1;
    public const uint KVM_IRQ_ROUTING_MSI = 2;

    // kvm_pit_config.flags, kvm_ioeventfd.flags, kvm_irqfd.flags.
    public const uint KVM_PIT_SPEAKER_DUMMY = 1;
    public const uint KVM_IOEVENTFD_FLAG_DATAMATCH = 1;
    public const uint KVM_IOEVENTFD_FLAG_PIO = 2;
    public const uint KVM_IOEVENTFD_FLAG_DEASSIGN = 4;
    public const uint KVM_IRQFD_FLAG_DEASSIGN = 1;
}
