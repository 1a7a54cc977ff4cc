using System.Runtime.InteropServices;
using ActorVmm.Machine.Interop;

namespace ActorVmm.Kvm.Interop;

/// <summary>
/// struct kvm_run: the page shared with the kernel through the vCPU fd's mmap. Only the members
/// the run loop reads are declared; the exit union starts at <see cref="ExitUnionOffset"/>.
/// </summary>
[CStruct]
[StructLayout(LayoutKind.Explicit)]
internal unsafe struct kvm_run
{
    public const int ExitUnionOffset = 32;
    public const int SyncRegsOffset = ExitUnionOffset + 256;

    [FieldOffset(0)] public byte request_interrupt_window;
    [FieldOffset(1)] public byte immediate_exit;
    [FieldOffset(2)] public fixed byte padding1[6];
    [FieldOffset(8)] public uint exit_reason;
    [FieldOffset(12)] public byte ready_for_interrupt_injection;
    [FieldOffset(13)] public byte if_flag;
    [FieldOffset(14)] public ushort flags;
    [FieldOffset(16)] public ulong cr8;
    [FieldOffset(24)] public ulong apic_base;

    // The exit-reason union: every member starts at the same offset.
    [FieldOffset(ExitUnionOffset)] public kvm_run_hw hw;
    [FieldOffset(ExitUnionOffset)] public kvm_run_fail_entry fail_entry;
    [FieldOffset(ExitUnionOffset)] public kvm_run_ex ex;
    [FieldOffset(ExitUnionOffset)] public kvm_run_io io;
    [FieldOffset(ExitUnionOffset)] public kvm_run_mmio mmio;
    [FieldOffset(ExitUnionOffset)] public kvm_run_internal @internal;
    [FieldOffset(ExitUnionOffset)] public kvm_run_system_event system_event;
    [FieldOffset(ExitUnionOffset)] public fixed byte padding[256];

    [FieldOffset(SyncRegsOffset)] public ulong kvm_valid_regs;
    [FieldOffset(SyncRegsOffset + 8)] public ulong kvm_dirty_regs;
    [FieldOffset(SyncRegsOffset + 16)] public kvm_run_s s;
}

/// <summary>kvm_run.hw (KVM_EXIT_UNKNOWN).</summary>
internal struct kvm_run_hw
{
    public ulong hardware_exit_reason;
}

/// <summary>kvm_run.fail_entry (KVM_EXIT_FAIL_ENTRY).</summary>
internal struct kvm_run_fail_entry
{
    public ulong hardware_entry_failure_reason;
    public uint cpu;
}

/// <summary>kvm_run.ex (KVM_EXIT_EXCEPTION).</summary>
internal struct kvm_run_ex
{
    public uint exception;
    public uint error_code;
}

/// <summary>kvm_run.io (KVM_EXIT_IO): <c>count</c> items of <c>size</c> bytes at <c>data_offset</c> from the start of kvm_run.</summary>
internal struct kvm_run_io
{
    public byte direction;
    public byte size;
    public ushort port;
    public uint count;
    public ulong data_offset;
}

/// <summary>kvm_run.mmio (KVM_EXIT_MMIO): up to 8 bytes in <c>data</c>.</summary>
internal unsafe struct kvm_run_mmio
{
    public ulong phys_addr;
    public fixed byte data[8];
    public uint len;
    public byte is_write;
}

/// <summary>kvm_run.internal (KVM_EXIT_INTERNAL_ERROR).</summary>
internal unsafe struct kvm_run_internal
{
    public uint suberror;
    public uint ndata;
    public fixed ulong data[16];
}

/// <summary>kvm_run.system_event (KVM_EXIT_SYSTEM_EVENT); <c>flags</c> shares its offset with <c>data[0]</c>.</summary>
[StructLayout(LayoutKind.Explicit)]
internal unsafe struct kvm_run_system_event
{
    [FieldOffset(0)] public uint type;
    [FieldOffset(4)] public uint ndata;
    [FieldOffset(8)] public ulong flags;
    [FieldOffset(8)] public fixed ulong data[16];
}

/// <summary>kvm_run.s: the synced-registers area (unused here, declared for the struct size).</summary>
internal unsafe struct kvm_run_s
{
    public fixed byte padding[2048];
}

/// <summary>struct kvm_coalesced_mmio: one batched write in the coalesced ring (<c>pio</c> shares the union with <c>pad</c>).</summary>
[CStruct]
internal unsafe struct kvm_coalesced_mmio
{
    public ulong phys_addr;
    public uint len;
    public uint pio;
    public fixed byte data[8];
}

/// <summary>struct kvm_coalesced_mmio_ring: the ring header; entries follow it in the same page.</summary>
[CStruct]
internal struct kvm_coalesced_mmio_ring
{
    public uint first;
    public uint last;
}
