using System.Runtime.InteropServices;
using ActorVmm.Kvm.Interop;
using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using static ActorVmm.Kvm.Interop.KvmConstants;

namespace ActorVmm.Kvm.Tests.Kvm;

public sealed unsafe class KvmRunLoopTests : IDisposable
{
    private const int VcpuId = 0;
    private const ulong RamSize = 0x20000;
    private const ushort Com1 = 0x3F8;
    private const ushort DataPort = 0x510;
    private const ushort ExitPort = 0xF4;
    private const ulong MmioBase = 0xD000_0000;
    private const ulong MmioLength = 0x1000;
    private const ulong CoalescedBase = 0xD000_1000;
    private const ushort CoalescedPort = 0x600;
    private const ulong ReadPattern = 0x1122_3344_5566_7788;
    private const int Efault = 14;

    private readonly FakeKvmKernel _kernel = new();
    private readonly RecordingBus _bus = new();
    private readonly GuestMemory _memory = GuestMemory.Create(RamSize);
    private readonly KvmVcpuCore _core;

    public KvmRunLoopTests()
    {
        _bus.Add(TrapBus.Pio, Com1, 8);
        _bus.Add(TrapBus.Pio, DataPort, 2, read: port => port);
        _bus.Add(TrapBus.Pio, ExitPort, 1);
        _bus.Add(TrapBus.Pio, CoalescedPort, 1, flags: TrapFlags.Coalesce);
        _bus.Add(TrapBus.Mmio, MmioBase, MmioLength, read: _ => ReadPattern);
        _bus.Add(TrapBus.Mmio, CoalescedBase, MmioLength, flags: TrapFlags.Coalesce);
        _core = new KvmVcpuCore(VcpuId, _kernel, _memory, _bus.Dispatcher, cpuid: null, hasIrqchip: false);
    }

    public void Dispose()
    {
        _core.Dispose();
        _memory.Dispose();
    }

    [Fact]
    public void Io_out_exit_dispatches_the_byte_as_a_port_write_and_reenters_KVM_RUN()
    {
        _kernel.EnqueueIo(KVM_EXIT_IO_OUT, size: 1, Com1, count: 1, "H"u8);
        _kernel.EnqueueExit(KVM_EXIT_HLT);

        var exit = _core.Run();

        Assert.Equal(VcpuExitReason.Halt, exit.Reason);
        Assert.Equal([new RecordedAccess(TrapBus.Pio, Com1, TrapDirection.Write, 1, 'H')], _bus.Accesses);
        Assert.Equal(2, _kernel.RunCalls);
    }

    [Theory]
    [InlineData(1, 5)]
    [InlineData(2, 3)]
    [InlineData(4, 4)]
    public void String_out_with_count_above_one_dispatches_every_item_in_order(byte size, uint count)
    {
        byte[] data = Enumerable.Range(1, size * (int)count).Select(i => (byte)i).ToArray();
        _kernel.EnqueueIo(KVM_EXIT_IO_OUT, size, Com1, count, data);
        _kernel.EnqueueExit(KVM_EXIT_HLT);

        _core.Run();

        var expected = data.Chunk(size).Select(item => new RecordedAccess(TrapBus.Pio, Com1, TrapDirection.Write, size, TrapAccess.ReadLittleEndian(item)));
        Assert.Equal(expected, _bus.Accesses);
    }

    [Theory]
    [InlineData(1, 6)]
    [InlineData(2, 3)]
    public void String_in_with_count_above_one_leaves_every_item_in_kvm_run_for_the_next_KVM_RUN(byte size, uint count)
    {
        int item = 0;
        var bus = new RecordingBus();
        bus.Add(TrapBus.Pio, DataPort, 2, read: _ => (ulong)(++item * 0x0101));
        using var kernel = new FakeKvmKernel();
        using var core = new KvmVcpuCore(VcpuId, kernel, _memory, bus.Dispatcher, null, hasIrqchip: false);
        kernel.EnqueueIo(KVM_EXIT_IO_IN, size, DataPort, count);
        kernel.EnqueueExit(KVM_EXIT_HLT);

        core.Run();

        byte[] seenByKernel = kernel.EntrySnapshots[1];
        for (int i = 0; i < count; i++)
        {
            ulong value = TrapAccess.ReadLittleEndian(seenByKernel.AsSpan(FakeKvmKernel.IoDataOffset + (i * size), size));
            Assert.Equal((ulong)((i + 1) * 0x0101) & (size == 1 ? 0xFFUL : 0xFFFFUL), value);
        }

        Assert.All(bus.Accesses, a => Assert.Equal(TrapDirection.Read, a.Direction));
        Assert.Equal((int)count, bus.Accesses.Count);
    }

    [Fact]
    public void Io_exit_whose_data_would_lie_outside_the_mapping_is_an_internal_error_and_touches_nothing()
    {
        const uint HugeCount = 1_000_000;
        _kernel.EnqueueIo(KVM_EXIT_IO_IN, size: 4, DataPort, HugeCount);

        var exit = _core.Run();

        Assert.Equal(VcpuExitReason.InternalError, exit.Reason);
        Assert.Contains("outside", exit.Message, StringComparison.Ordinal);
        Assert.Empty(_bus.Accesses);
    }

    [Fact]
    public void Mmio_read_result_is_written_into_kvm_run_before_the_next_KVM_RUN()
    {
        const int Length = 4;
        _kernel.EnqueueMmio(MmioBase + 0x10, new byte[Length], isWrite: false);
        _kernel.EnqueueExit(KVM_EXIT_HLT);

        _core.Run();

        var run = MemoryMarshal.Read<kvm_run>(_kernel.EntrySnapshots[1]);
        ulong written = TrapAccess.ReadLittleEndian(new ReadOnlySpan<byte>(run.mmio.data, Length));
        Assert.Equal(ReadPattern & 0xFFFF_FFFF, written);
        Assert.Equal([new RecordedAccess(TrapBus.Mmio, MmioBase + 0x10, TrapDirection.Read, Length, ReadPattern & 0xFFFF_FFFF)], _bus.Accesses);
    }

    [Fact]
    public void Mmio_write_delivers_address_length_and_data()
    {
        _kernel.EnqueueMmio(MmioBase + 8, [0xEF, 0xBE], isWrite: true);
        _kernel.EnqueueExit(KVM_EXIT_HLT);

        _core.Run();

        Assert.Equal([new RecordedAccess(TrapBus.Mmio, MmioBase + 8, TrapDirection.Write, 2, 0xBEEF)], _bus.Accesses);
    }

    [Fact]
    public void Mmio_exit_with_a_length_above_eight_is_an_internal_error()
    {
        _kernel.EnqueueExit(KVM_EXIT_MMIO, () =>
        {
            _kernel.Page->mmio.phys_addr = MmioBase;
            _kernel.Page->mmio.len = 9;
        });

        Assert.Equal(VcpuExitReason.InternalError, _core.Run().Reason);
        Assert.Empty(_bus.Accesses);
    }

    [Fact]
    public void Hlt_exit_returns_halt()
    {
        _kernel.EnqueueExit(KVM_EXIT_HLT);
        Assert.Equal(VcpuExitReason.Halt, _core.Run().Reason);
    }

    [Fact]
    public void Shutdown_exit_is_a_triple_fault_and_returns_reset()
    {
        _kernel.EnqueueExit(KVM_EXIT_SHUTDOWN);
        var exit = _core.Run();
        Assert.Equal(VcpuExitReason.Reset, exit.Reason);
        Assert.Contains("triple fault", exit.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(KVM_SYSTEM_EVENT_SHUTDOWN, VcpuExitReason.Shutdown)]
    [InlineData(KVM_SYSTEM_EVENT_RESET, VcpuExitReason.Reset)]
    [InlineData(KVM_SYSTEM_EVENT_CRASH, VcpuExitReason.InternalError)]
    public void System_event_maps_to_the_matching_exit(uint type, VcpuExitReason expected)
    {
        _kernel.EnqueueExit(KVM_EXIT_SYSTEM_EVENT, () => _kernel.Page->system_event.type = type);
        Assert.Equal(expected, _core.Run().Reason);
    }

    [Fact]
    public void Fail_entry_is_an_internal_error_naming_the_hardware_reason()
    {
        const ulong HardwareReason = 0x80000021;
        _kernel.EnqueueExit(KVM_EXIT_FAIL_ENTRY, () => _kernel.Page->fail_entry.hardware_entry_failure_reason = HardwareReason);

        var exit = _core.Run();

        Assert.Equal(VcpuExitReason.InternalError, exit.Reason);
        Assert.Contains($"0x{HardwareReason:X}", exit.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Internal_error_names_the_suberror_and_carries_diagnostics()
    {
        const ulong GuestRip = 0x42;
        _kernel.Regs = new kvm_regs { rip = GuestRip };
        _kernel.EnqueueExit(KVM_EXIT_INTERNAL_ERROR, () => _kernel.Page->@internal.suberror = KVM_INTERNAL_ERROR_EMULATION);

        var exit = _core.Run();

        Assert.Equal(VcpuExitReason.InternalError, exit.Reason);
        Assert.Contains(nameof(KVM_INTERNAL_ERROR_EMULATION), exit.Message, StringComparison.Ordinal);
        Assert.Equal(GuestRip, exit.Diagnostics!.Registers["rip"]);
    }

    [Theory]
    [InlineData(KVM_EXIT_UNKNOWN)]
    [InlineData(KVM_EXIT_EXCEPTION)]
    [InlineData(KVM_EXIT_DEBUG)]
    [InlineData(KVM_EXIT_NMI)]
    public void Exits_the_loop_cannot_handle_are_internal_errors(uint reason)
    {
        _kernel.EnqueueExit(reason);
        Assert.Equal(VcpuExitReason.InternalError, _core.Run().Reason);
    }

    [Fact]
    public void Intr_exit_reason_returns_interrupted()
    {
        _kernel.EnqueueExit(KVM_EXIT_INTR);
        Assert.Equal(VcpuExitReason.Interrupted, _core.Run().Reason);
    }

    [Theory]
    [InlineData(Libc.EINTR)]
    [InlineData(Libc.EAGAIN)]
    public void Eintr_or_eagain_from_KVM_RUN_returns_interrupted_and_clears_immediate_exit(int errno)
    {
        _kernel.Page->immediate_exit = 1;
        _kernel.EnqueueErrno(errno);

        var exit = _core.Run();

        Assert.Equal(VcpuExitReason.Interrupted, exit.Reason);
        Assert.Equal(0, _kernel.Page->immediate_exit);
    }

    [Fact]
    public void Any_other_errno_from_KVM_RUN_throws_an_exception_naming_KVM_RUN()
    {
        _kernel.EnqueueErrno(Efault);

        var ex = Assert.Throws<KvmIoctlException>(() => _core.Run());

        Assert.Equal(nameof(KvmIoctls.KVM_RUN), ex.Call);
        Assert.Equal(Efault, ex.Errno);
    }

    [Fact]
    public void Coalesced_writes_reach_devices_before_the_mmio_exit_that_follows_them()
    {
        _kernel.PushCoalesced(CoalescedBase, [1], pio: false);
        _kernel.PushCoalesced(CoalescedBase + 1, [2], pio: false);
        _kernel.EnqueueMmio(MmioBase, [3], isWrite: true);
        _kernel.EnqueueExit(KVM_EXIT_HLT);

        _core.Run();

        Assert.Equal([CoalescedBase, CoalescedBase + 1, MmioBase], _bus.Accesses.Select(a => a.Address));
        Assert.Equal(_kernel.Ring->last, _kernel.Ring->first);
    }

    [Fact]
    public void Coalesced_writes_reach_devices_before_the_port_io_exit_that_follows_them()
    {
        _kernel.PushCoalesced(CoalescedBase, [9], pio: false);
        _kernel.EnqueueIo(KVM_EXIT_IO_OUT, 1, Com1, 1, "B"u8);
        _kernel.EnqueueExit(KVM_EXIT_HLT);

        _core.Run();

        Assert.Equal([CoalescedBase, Com1], _bus.Accesses.Select(a => a.Address));
    }

    [Fact]
    public void Coalesced_ring_is_drained_after_every_exit_including_port_io()
    {
        _kernel.EnqueueIo(KVM_EXIT_IO_OUT, 1, Com1, 1, "A"u8);
        _kernel.Enqueue(() =>
        {
            _kernel.PushCoalesced(CoalescedPort, [7], pio: true);
            _kernel.Page->exit_reason = KVM_EXIT_HLT;
            return 0;
        });

        var exit = _core.Run();

        Assert.Equal(VcpuExitReason.Halt, exit.Reason);
        Assert.Equal(
            [new RecordedAccess(TrapBus.Pio, Com1, TrapDirection.Write, 1, 'A'), new RecordedAccess(TrapBus.Pio, CoalescedPort, TrapDirection.Write, 1, 7)],
            _bus.Accesses);
        Assert.Equal(1, _core.CoalescedWrites);
    }

    [Fact]
    public void Coalesced_ring_wraps_around_its_end_in_order()
    {
        const int Writes = 5;
        uint start = FakeKvmKernel.RingCapacity - 2;
        _kernel.Ring->first = start;
        _kernel.Ring->last = start;
        for (int i = 0; i < Writes; i++)
        {
            _kernel.PushCoalesced(CoalescedBase + (ulong)i, [(byte)i], pio: false);
        }

        _kernel.EnqueueExit(KVM_EXIT_HLT);

        _core.Run();

        Assert.Equal(Enumerable.Range(0, Writes).Select(i => CoalescedBase + (ulong)i), _bus.Accesses.Select(a => a.Address));
        Assert.Equal(Enumerable.Range(0, Writes).Select(i => (ulong)i), _bus.Accesses.Select(a => a.Value));
        Assert.Equal((start + Writes) % FakeKvmKernel.RingCapacity, _kernel.Ring->first);
    }

    [Fact]
    public void Ring_capacity_matches_the_kernels_formula_for_one_page()
    {
        var ring = new CoalescedRing(_kernel.CoalescedRing, FakeKvmKernel.PageSize);
        Assert.Equal((uint)((FakeKvmKernel.PageSize - CoalescedRing.HeaderSize) / CoalescedRing.EntrySize), ring.Capacity);
    }

    [Fact]
    public void Corrupted_ring_indices_stop_the_vcpu_instead_of_reading_past_the_page()
    {
        _kernel.Ring->last = FakeKvmKernel.RingCapacity + 1;
        _kernel.EnqueueExit(KVM_EXIT_HLT);

        Assert.Throws<InvalidOperationException>(() => _core.Run());
        Assert.Empty(_bus.Accesses);
    }

    [Fact]
    public void Request_exit_before_run_makes_the_next_KVM_RUN_return_at_once()
    {
        _kernel.EnqueueExit(KVM_EXIT_HLT);

        _core.RequestExit();
        var exit = _core.Run();

        Assert.Equal(VcpuExitReason.Interrupted, exit.Reason);
        Assert.Equal(1, _kernel.ImmediateExits);
        Assert.Equal(VcpuExitReason.Halt, _core.Run().Reason);
    }
}
