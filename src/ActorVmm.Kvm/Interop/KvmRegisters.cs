using System.Runtime.InteropServices;
using ActorVmm.Machine.Interop;

namespace ActorVmm.Kvm.Interop;

/// <summary>struct kvm_regs: general-purpose registers (KVM_GET_REGS / KVM_SET_REGS).</summary>
[CStruct]
internal struct kvm_regs
{
    public ulong rax, rbx, rcx, rdx;
    public ulong rsi, rdi, rsp, rbp;
    public ulong r8, r9, r10, r11;
    public ulong r12, r13, r14, r15;
    public ulong rip, rflags;
}

/// <summary>struct kvm_segment: a segment register with its hidden descriptor cache.</summary>
[CStruct]
internal struct kvm_segment
{
    public ulong @base;
    public uint limit;
    public ushort selector;
    public byte type;
    public byte present, dpl, db, s, l, g, avl;
    public byte unusable;
    public byte padding;
}

/// <summary>struct kvm_dtable: GDTR / IDTR.</summary>
[CStruct]
internal unsafe struct kvm_dtable
{
    public ulong @base;
    public ushort limit;
    public fixed ushort padding[3];
}

/// <summary>struct kvm_sregs: segment, descriptor-table and control registers (KVM_GET_SREGS / KVM_SET_SREGS).</summary>
[CStruct]
internal unsafe struct kvm_sregs
{
    public kvm_segment cs, ds, es, fs, gs, ss;
    public kvm_segment tr, ldt;
    public kvm_dtable gdt, idt;
    public ulong cr0, cr2, cr3, cr4, cr8;
    public ulong efer;
    public ulong apic_base;
    public fixed ulong interrupt_bitmap[(KvmConstants.KVM_NR_INTERRUPTS + 63) / 64];
}

/// <summary>struct kvm_fpu: x87/SSE state (KVM_GET_FPU / KVM_SET_FPU); fpr[8][16] and xmm[16][16] flattened.</summary>
[CStruct]
internal unsafe struct kvm_fpu
{
    public fixed byte fpr[8 * 16];
    public ushort fcw;
    public ushort fsw;
    public byte ftwx;
    public byte pad1;
    public ushort last_opcode;
    public ulong last_ip;
    public ulong last_dp;
    public fixed byte xmm[16 * 16];
    public uint mxcsr;
    public uint pad2;
}

/// <summary>struct kvm_lapic_state: the local APIC register page (KVM_GET_LAPIC / KVM_SET_LAPIC).</summary>
[CStruct]
internal unsafe struct kvm_lapic_state
{
    public fixed byte regs[KvmConstants.KVM_APIC_REG_SIZE];
}

/// <summary>struct kvm_cpuid_entry2: one CPUID leaf/subleaf.</summary>
[CStruct]
internal unsafe struct kvm_cpuid_entry2
{
    public uint function;
    public uint index;
    public uint flags;
    public uint eax, ebx, ecx, edx;
    public fixed uint padding[3];
}

/// <summary>struct kvm_cpuid2: header of a CPUID table; <c>nent</c> entries follow it.</summary>
[CStruct]
internal struct kvm_cpuid2
{
    public uint nent;
    public uint padding;
}

/// <summary>struct kvm_msr_entry: one MSR.</summary>
[CStruct]
internal struct kvm_msr_entry
{
    public uint index;
    public uint reserved;
    public ulong data;
}

/// <summary>struct kvm_msrs: header of an MSR list; <c>nmsrs</c> entries follow it.</summary>
[CStruct]
internal struct kvm_msrs
{
    public uint nmsrs;
    public uint pad;
}

/// <summary>struct kvm_mp_state: a vCPU's multiprocessing state (KVM_GET_MP_STATE): runnable, halted, waiting for SIPI.</summary>
[CStruct]
internal struct kvm_mp_state
{
    public uint mp_state;
}

/// <summary>Layout helper for variable-length kvm_cpuid2 / kvm_msrs buffers (header then entries).</summary>
internal static class KvmVariableLength
{
    /// <summary>Bytes for a header of type <typeparamref name="THeader"/> followed by <paramref name="count"/> entries.</summary>
    public static int Size<THeader, TEntry>(int count)
        where THeader : unmanaged
        where TEntry : unmanaged => Marshal.SizeOf<THeader>() + (count * Marshal.SizeOf<TEntry>());
}
