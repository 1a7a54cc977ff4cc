using System.Runtime.InteropServices;
using ActorVmm.Kvm.Interop;

namespace ActorVmm.Kvm.Tests.Kvm;

/// <summary>
/// A fake kernel behind the vCPU seam: a real, zeroed native buffer of the size KVM maps for a
/// vCPU (kvm_run at offset 0, the coalesced ring at page KVM_COALESCED_MMIO_PAGE_OFFSET), written
/// through the interop structs whose layout the header check proves. Each KVM_RUN honours
/// immediate_exit like the kernel, snapshots the page (so tests see what the loop left there
/// for the kernel), then plays the next scripted exit; with no script left it "runs the guest"
/// until kicked and returns EINTR.
/// </summary>
internal sealed unsafe class FakeKvmKernel : IKvmVcpuKernel
{
    public const int PageSize = 4096;
    public const int MappingPages = KvmConstants.KVM_COALESCED_MMIO_PAGE_OFFSET + 1;
    public const int MappingSize = MappingPages * PageSize;

    /// <summary>Where scripted I/O exits put their data: after kvm_run, inside page 0, as the kernel does.</summary>
    public const int IoDataOffset = PageSize / 2;

    private readonly Queue<Func<int>> _script = new();
    private readonly SemaphoreSlim _kicked = new(0);
    private readonly ManualResetEventSlim _blockedInRun = new(false);
    private nint _page;

    public FakeKvmKernel(bool withRing = true)
    {
        _page = (nint)NativeMemory.AlignedAlloc(MappingSize, PageSize);
        NativeMemory.Clear((void*)_page, MappingSize);
        CoalescedRing = withRing ? _page + (KvmConstants.KVM_COALESCED_MMIO_PAGE_OFFSET * PageSize) : 0;
    }

    public nint RunPage => _page;

    public int RunPageSize => MappingSize;

    public nint CoalescedRing { get; }

    public int CoalescedRingSize => PageSize;

    public kvm_run* Page => (kvm_run*)_page;

    public kvm_coalesced_mmio_ring* Ring => (kvm_coalesced_mmio_ring*)CoalescedRing;

    public kvm_coalesced_mmio* RingEntries => (kvm_coalesced_mmio*)(CoalescedRing + sizeof(kvm_coalesced_mmio_ring));

    public static uint RingCapacity => (uint)((PageSize - sizeof(kvm_coalesced_mmio_ring)) / sizeof(kvm_coalesced_mmio));

    /// <summary>Copies of kvm_run taken on entry to each KVM_RUN.</summary>
    public List<byte[]> EntrySnapshots { get; } = [];

    public int RunCalls { get; private set; }

    public int ImmediateExits { get; private set; }

    private int _kicks;

    public int Kicks => Volatile.Read(ref _kicks);

    /// <summary>Set while a KVM_RUN is blocked "running the guest".</summary>
    public ManualResetEventSlim BlockedInRun => _blockedInRun;

    public kvm_regs Regs { get; set; }

    public kvm_sregs Sregs { get; set; }

    public kvm_fpu? Fpu { get; private set; }

    public kvm_cpuid_entry2[]? Cpuid { get; private set; }

    public kvm_lapic_state Lapic { get; set; }

    public void Enqueue(Func<int> step) => _script.Enqueue(step);

    public void EnqueueIo(byte direction, byte size, ushort port, uint count, ReadOnlySpan<byte> data = default, ulong dataOffset = IoDataOffset)
    {
        byte[] copy = data.ToArray();
        Enqueue(() =>
        {
            Page->exit_reason = KvmConstants.KVM_EXIT_IO;
            Page->io = new kvm_run_io { direction = direction, size = size, port = port, count = count, data_offset = dataOffset };
            copy.CopyTo(new Span<byte>((byte*)_page + (long)dataOffset, copy.Length));
            return 0;
        });
    }

    public void EnqueueMmio(ulong address, ReadOnlySpan<byte> data, bool isWrite)
    {
        byte[] copy = data.ToArray();
        Enqueue(() =>
        {
            Page->exit_reason = KvmConstants.KVM_EXIT_MMIO;
            Page->mmio.phys_addr = address;
            Page->mmio.len = (uint)copy.Length;
            Page->mmio.is_write = isWrite ? (byte)1 : (byte)0;
            var bytes = new Span<byte>(Page->mmio.data, 8);
            bytes.Clear();
            copy.CopyTo(bytes);
            return 0;
        });
    }

    public void EnqueueExit(uint reason, Action? fill = null) => Enqueue(() =>
    {
        Page->exit_reason = reason;
        fill?.Invoke();
        return 0;
    });

    public void EnqueueErrno(int errno) => Enqueue(() =>
    {
        Page->exit_reason = KvmConstants.KVM_EXIT_INTR;
        return errno;
    });

    /// <summary>Appends a batched write at the ring's 'last', as the kernel does.</summary>
    public void PushCoalesced(ulong address, ReadOnlySpan<byte> data, bool pio)
    {
        uint last = Ring->last;
        var entry = new kvm_coalesced_mmio { phys_addr = address, len = (uint)data.Length, pio = pio ? 1u : 0u };
        data.CopyTo(new Span<byte>(entry.data, 8));
        RingEntries[last] = entry;
        Ring->last = (last + 1) % RingCapacity;
    }

    public int Run()
    {
        RunCalls++;
        EntrySnapshots.Add(new ReadOnlySpan<byte>((void*)_page, sizeof(kvm_run)).ToArray());
        if (Volatile.Read(ref Page->immediate_exit) != 0)
        {
            ImmediateExits++;
            Page->exit_reason = KvmConstants.KVM_EXIT_INTR;
            return Libc.EINTR;
        }

        if (_script.TryDequeue(out var step))
        {
            return step();
        }

        // The guest spins inside KVM_RUN until a signal (Kick) arrives.
        // Set "inside" before re-checking immediate_exit: a RequestExit racing with this either
        // sees us blocked and kicks, or we see its immediate_exit here (the signal's job in the kernel).
        _blockedInRun.Set();
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref Page->immediate_exit) == 0)
        {
            _kicked.Wait();
        }

        _blockedInRun.Reset();
        while (_kicked.Wait(0))
        {
            // A kick that raced with the immediate_exit check is spent, like a delivered signal.
        }

        Page->exit_reason = KvmConstants.KVM_EXIT_INTR;
        return Libc.EINTR;
    }

    public void Kick()
    {
        Interlocked.Increment(ref _kicks);
        if (_blockedInRun.IsSet)
        {
            _kicked.Release();
        }
    }

    public kvm_regs GetRegs() => Regs;

    public void SetRegs(in kvm_regs regs) => Regs = regs;

    public kvm_sregs GetSregs() => Sregs;

    public void SetSregs(in kvm_sregs sregs) => Sregs = sregs;

    public void SetFpu(in kvm_fpu fpu) => Fpu = fpu;

    public void SetCpuid(ReadOnlySpan<kvm_cpuid_entry2> entries) => Cpuid = entries.ToArray();

    public List<kvm_msr_entry> Msrs { get; } = [];

    public int SetMsrs(ReadOnlySpan<kvm_msr_entry> entries)
    {
        Msrs.AddRange(entries.ToArray());
        return entries.Length;
    }

    public kvm_lapic_state GetLapic() => Lapic;

    public void SetLapic(in kvm_lapic_state lapic) => Lapic = lapic;

    /// <summary>What KVM_GET_MP_STATE answers.</summary>
    public uint MpState { get; set; } = KvmConstants.KVM_MP_STATE_RUNNABLE;

    /// <summary>KVM_GET_MP_STATE calls so far.</summary>
    public int MpStateReads { get; private set; }

    public uint GetMpState()
    {
        MpStateReads++;
        return MpState;
    }

    public void Dispose()
    {
        nint page = Interlocked.Exchange(ref _page, 0);
        if (page != 0)
        {
            NativeMemory.AlignedFree((void*)page);
        }

        _kicked.Dispose();
        _blockedInRun.Dispose();
    }
}
