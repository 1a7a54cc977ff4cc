using System.Runtime.InteropServices;
using ActorVmm.Machine.Interop;

namespace ActorVmm.Kvm.Interop;

/// <summary>struct kvm_userspace_memory_region (KVM_SET_USER_MEMORY_REGION).</summary>
[CStruct]
internal struct kvm_userspace_memory_region
{
    public uint slot;
    public uint flags;
    public ulong guest_phys_addr;
    public ulong memory_size;
    public ulong userspace_addr;
}

/// <summary>struct kvm_irq_level (KVM_IRQ_LINE); <c>irq</c> shares its union with <c>status</c>.</summary>
[CStruct]
internal struct kvm_irq_level
{
    public uint irq;
    public uint level;
}

/// <summary>struct kvm_pit_config (KVM_CREATE_PIT2).</summary>
[CStruct]
internal unsafe struct kvm_pit_config
{
    public uint flags;
    public fixed uint pad[15];
}

/// <summary>struct kvm_coalesced_mmio_zone (KVM_REGISTER_COALESCED_MMIO); <c>pio</c> shares its union with <c>pad</c>.</summary>
[CStruct]
internal struct kvm_coalesced_mmio_zone
{
    public ulong addr;
    public uint size;
    public uint pio;
}

/// <summary>struct kvm_irqfd (KVM_IRQFD).</summary>
[CStruct]
internal unsafe struct kvm_irqfd
{
    public uint fd;
    public uint gsi;
    public uint flags;
    public uint resamplefd;
    public fixed byte pad[16];
}

/// <summary>struct kvm_ioeventfd (KVM_IOEVENTFD).</summary>
[CStruct]
internal unsafe struct kvm_ioeventfd
{
    public ulong datamatch;
    public ulong addr;
    public uint len;
    public int fd;
    public uint flags;
    public fixed byte pad[36];
}

/// <summary>struct kvm_enable_cap (KVM_ENABLE_CAP).</summary>
[CStruct]
internal unsafe struct kvm_enable_cap
{
    public uint cap;
    public uint flags;
    public fixed ulong args[4];
    public fixed byte pad[64];
}

/// <summary>struct kvm_irq_routing_irqchip: a GSI wired to a pin of the in-kernel 8259 pair or IOAPIC.</summary>
[CStruct]
internal struct kvm_irq_routing_irqchip
{
    public uint irqchip;
    public uint pin;
}

/// <summary>struct kvm_irq_routing_msi: a GSI that sends an MSI; <c>devid</c> shares its union with <c>pad</c> (ARM ITS only).</summary>
[CStruct]
internal struct kvm_irq_routing_msi
{
    public uint address_lo;
    public uint address_hi;
    public uint data;
    public uint devid;
}

/// <summary>The union <c>u</c> of struct kvm_irq_routing_entry (checked member by member through the entry).</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
internal unsafe struct kvm_irq_routing_entry_u
{
    [FieldOffset(0)]
    public kvm_irq_routing_irqchip irqchip;

    [FieldOffset(0)]
    public kvm_irq_routing_msi msi;

    [FieldOffset(0)]
    public fixed uint pad[8];
}

/// <summary>struct kvm_irq_routing_entry: one GSI route (KVM_IRQ_ROUTING_IRQCHIP or KVM_IRQ_ROUTING_MSI here).</summary>
[CStruct]
internal struct kvm_irq_routing_entry
{
    public uint gsi;
    public uint type;
    public uint flags;
    public uint pad;
    public kvm_irq_routing_entry_u u;
}

/// <summary>struct kvm_irq_routing (KVM_SET_GSI_ROUTING): the header; <c>nr</c> entries follow it (a flexible array).</summary>
[CStruct]
internal struct kvm_irq_routing
{
    public uint nr;
    public uint flags;
}

/// <summary>struct kvm_msi (KVM_SIGNAL_MSI).</summary>
[CStruct]
internal unsafe struct kvm_msi
{
    public uint address_lo;
    public uint address_hi;
    public uint data;
    public uint flags;
    public uint devid;
    public fixed byte pad[12];
}
