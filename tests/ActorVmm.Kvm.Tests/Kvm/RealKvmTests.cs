using ActorVmm.Emulator;
using ActorVmm.Kvm.Kvm;
using ActorVmm.Kvm.Machine;
using ActorVmm.Kvm.Traps;
using ActorVmm.KvmLane;
using ActorVmm.TestGuests;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.Kvm.Tests.Kvm;

/// <summary>Runs guests on the real /dev/kvm (skipped where it does not open).</summary>
public sealed class RealKvmTests
{
    private const ulong RamSize = LaneGuests.MemorySize;
    private const ushort ResultPort = IoGuests.ResultPort;
    private const ushort EventPort = 0x610;
    private const byte EventValue = 0x42;
    private const int CoalescedWrites = 3;
    private const byte LongModeMarker = (byte)'L';
    private const ulong LongModeCodeAddress = 0x2_0000;
    private const ulong LongModeStack = 0x7_0000;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static TheoryData<string> LaneGuestNames => [.. LaneGuests.All.Select(g => g.Name)];

    [KvmTheory]
    [MemberData(nameof(LaneGuestNames))]
    public void Lane_guest_trap_sequence_on_KVM_matches_the_emulator(string name)
    {
        var guest = LaneGuests.All.Single(g => g.Name == name);
        using var kvm = new KvmHypervisor();
        using var emulator = new EmulatorHypervisor();

        var onKvm = GuestTraceRunner.Run(kvm, guest, Timeout);
        var onEmulator = GuestTraceRunner.Run(emulator, guest, Timeout);

        Assert.True(onKvm.Succeeded, $"{name} on KVM: {onKvm.Summary} {onKvm.Exit?.Message}");
        Assert.NotEmpty(onKvm.Traps);
        Assert.Equal(onEmulator.Traps, onKvm.Traps);
        Assert.Equal(onEmulator.Summary, onKvm.Summary);
    }

    [KvmFact]
    public void Serial_hello_on_KVM_writes_each_character_to_COM1_then_the_exit_port()
    {
        const string Text = "kvm!";
        using var kvm = new KvmHypervisor();

        var trace = GuestTraceRunner.Run(kvm, new LaneGuest("hello", Guests.SerialHello(Text)), Timeout);

        var expected = Text.Select(c => TrapRecorder.Format(TrapBus.Pio, TrapDirection.Write, Guests.Com1, 1, c))
            .Append(TrapRecorder.Format(TrapBus.Pio, TrapDirection.Write, GuestAssembler.ExitPort, 1, 0));
        Assert.Equal(expected, trace.Traps);
    }

    [KvmFact]
    public void Coalesced_mmio_writes_reach_the_device_before_the_port_write_that_follows_them()
    {
        byte[] image = GuestAssembler.Assemble16(asm =>
        {
            asm.mov(ax, IoGuests.MmioSegment);
            asm.mov(es, ax);
            for (int i = 0; i < CoalescedWrites; i++)
            {
                asm.mov(__byte_ptr.es[i], (byte)(i + 1));
            }

            asm.mov(dx, ResultPort);
            asm.@out(dx, al);
            GuestAssembler.EmitExit(asm, 0);
        });
        using var kvm = new KvmHypervisor();
        using var vm = kvm.CreateVm(new VmSpec("coalesced", RamSize));
        var order = new List<string>();
        vm.Traps.Register(TrapBus.Mmio, IoGuests.MmioBase, 0x1000, a => order.Add($"mmio {a.Offset} {a.Value}"), TrapFlags.Coalesce, "coalesced");
        vm.Traps.Register(TrapBus.Pio, ResultPort, 1, a => order.Add("port"), name: "result");
        vm.Traps.Register(TrapBus.Pio, GuestAssembler.ExitPort, 1, a => vm.Vcpus[0].Stop(TimeSpan.Zero), name: "exit");

        var exit = RunToCompletion(vm, FlatBinaryLoader.Load(vm.Memory, image));

        Assert.Equal(VcpuExitReason.Stopped, exit.Reason);
        Assert.Equal(Enumerable.Range(0, CoalescedWrites).Select(i => $"mmio {i} {i + 1}").Append("port"), order);
        var core = Assert.IsType<KvmVcpuCore>(((VcpuThread)vm.Vcpus[0]).Core);
        Assert.Equal(CoalescedWrites, core.CoalescedWrites);
    }

    [KvmFact]
    public void Unregistering_a_coalesced_region_removes_its_kernel_zone_so_writes_trap_again()
    {
        byte[] image = GuestAssembler.Assemble16(asm =>
        {
            asm.mov(ax, IoGuests.MmioSegment);
            asm.mov(es, ax);
            for (int i = 0; i < CoalescedWrites; i++)
            {
                asm.mov(__byte_ptr.es[i], (byte)(i + 1));
            }

            GuestAssembler.EmitExit(asm, 0);
        });
        using var kvm = new KvmHypervisor();
        using var vm = kvm.CreateVm(new VmSpec("uncoalesced", RamSize));
        var writes = new List<ulong>();
        var coalesced = vm.Traps.Register(TrapBus.Mmio, IoGuests.MmioBase, 0x1000, _ => { }, TrapFlags.Coalesce, "coalesced");
        Assert.True(vm.Traps.Unregister(coalesced));
        vm.Traps.Register(TrapBus.Mmio, IoGuests.MmioBase, 0x1000, a => writes.Add(a.Value), name: "plain");
        vm.Traps.Register(TrapBus.Pio, GuestAssembler.ExitPort, 1, a => vm.Vcpus[0].Stop(TimeSpan.Zero), name: "exit");

        var exit = RunToCompletion(vm, FlatBinaryLoader.Load(vm.Memory, image));

        Assert.Equal(VcpuExitReason.Stopped, exit.Reason);
        Assert.Equal(Enumerable.Range(1, CoalescedWrites).Select(i => (ulong)i), writes);
        var core = Assert.IsType<KvmVcpuCore>(((VcpuThread)vm.Vcpus[0]).Core);
        Assert.Equal(0, core.CoalescedWrites);
    }

    [KvmFact]
    public void Ioeventfd_write_signals_the_eventfd_without_a_trap()
    {
        byte[] image = GuestAssembler.Assemble16(asm =>
        {
            asm.mov(al, EventValue);
            asm.mov(dx, EventPort);
            asm.@out(dx, al);
            GuestAssembler.EmitExit(asm, 0);
        });
        using var kvm = new KvmHypervisor();
        using var vm = (KvmVm)kvm.CreateVm(new VmSpec("ioeventfd", RamSize));
        var recorder = TrapRecorder.Attach(vm, RamSize);
        using var eventFd = vm.RegisterIoEventFd(TrapBus.Pio, EventPort, 1, EventValue);
        using var irqFd = vm.RegisterIrqFd(gsi: 5);

        var exit = RunToCompletion(vm, FlatBinaryLoader.Load(vm.Memory, image));

        Assert.Equal(VcpuExitReason.Stopped, exit.Reason);
        Assert.Equal(1UL, eventFd.Consume());
        Assert.DoesNotContain(recorder.Lines, l => l.Contains($"0x{EventPort:X}", StringComparison.Ordinal));
    }

    [KvmFact]
    public void Long_mode_entry_runs_64_bit_code_with_paging()
    {
        var asm = new Assembler(64);
        asm.mov(rax, (ulong)LongModeMarker);
        asm.mov(dx, Guests.Com1);
        asm.@out(dx, al);
        asm.mov(rbx, cr0);
        asm.shr(rbx, 31);
        asm.mov(al, bl);
        asm.mov(dx, ResultPort);
        asm.@out(dx, al);
        GuestAssembler.EmitExit(asm, 0);
        using var stream = new MemoryStream();
        asm.Assemble(new StreamCodeWriter(stream), LongModeCodeAddress);
        using var kvm = new KvmHypervisor();
        using var vm = kvm.CreateVm(new VmSpec("long-mode", RamSize));
        var recorder = TrapRecorder.Attach(vm, RamSize);
        vm.Memory.Write(LongModeCodeAddress, stream.ToArray());

        var exit = RunToCompletion(vm, new LongModeEntry(LongModeCodeAddress, LongModeStack));

        Assert.Equal(VcpuExitReason.Stopped, exit.Reason);
        Assert.Equal(
            [
                TrapRecorder.Format(TrapBus.Pio, TrapDirection.Write, Guests.Com1, 1, LongModeMarker),
                TrapRecorder.Format(TrapBus.Pio, TrapDirection.Write, ResultPort, 1, 1),
                TrapRecorder.Format(TrapBus.Pio, TrapDirection.Write, GuestAssembler.ExitPort, 1, 0),
            ],
            recorder.Lines);
    }

    [KvmTheory]
    [InlineData(nameof(IoGuests.SpinForever))]
    [InlineData(nameof(IoGuests.HaltForever))]
    public void Pause_and_stop_take_effect_while_the_guest_is_inside_KVM_RUN(string guest)
    {
        byte[] image = guest == nameof(IoGuests.SpinForever) ? IoGuests.SpinForever() : IoGuests.HaltForever();
        using var kvm = new KvmHypervisor();
        using var vm = kvm.CreateVm(new VmSpec(guest, RamSize));
        var vcpu = vm.Vcpus[0];
        vcpu.SetEntryState(FlatBinaryLoader.Load(vm.Memory, image));
        vcpu.Start();
        Thread.Sleep(TimeSpan.FromMilliseconds(100));

        vcpu.Pause();
        Assert.Equal(VcpuRunState.Paused, vcpu.State);
        vcpu.Resume();
        Assert.True(vcpu.Stop(Timeout), "the vCPU did not leave KVM_RUN");

        Assert.Equal(VcpuExitReason.Stopped, vcpu.Completion.Result.Reason);
    }

    [KvmFact]
    public void Irq_line_pulse_reaches_the_guest_through_the_in_kernel_8259_and_LINT0_ExtINT()
    {
        const int Irq = 4;
        const byte VectorBase = 0x20;
        const byte ReadyMarker = 1;
        const byte HandledMarker = 2;
        byte[] image = InterruptGuest(Irq, VectorBase, ReadyMarker, HandledMarker);
        using var kvm = new KvmHypervisor();
        using var vm = kvm.CreateVm(new VmSpec("irq-line", RamSize));
        var markers = new List<ulong>();
        var line = vm.GetInterruptLine(Irq);
        vm.Traps.Register(TrapBus.Pio, ResultPort, 1, a =>
        {
            markers.Add(a.Value);
            if (a.Value == ReadyMarker)
            {
                line.Pulse();
            }
        }, name: "result");
        vm.Traps.Register(TrapBus.Pio, GuestAssembler.ExitPort, 1, a => vm.Vcpus[0].Stop(TimeSpan.Zero), name: "exit");

        var exit = RunToCompletion(vm, FlatBinaryLoader.Load(vm.Memory, image));

        Assert.Equal(VcpuExitReason.Stopped, exit.Reason);
        Assert.Equal([ReadyMarker, HandledMarker], markers);
    }

    /// <summary>
    /// Installs an IVT handler for IRQ <paramref name="irq"/>, initialises the master 8259 with
    /// vector base <paramref name="vectorBase"/> and only that IRQ unmasked, reports ready, then
    /// waits in STI; HLT. The handler sends EOI, reports handled and exits.
    /// </summary>
    private static byte[] InterruptGuest(int irq, byte vectorBase, byte ready, byte handled)
    {
        const ushort PicCommand = 0x20;
        const ushort PicData = 0x21;
        const byte Icw1EdgeCascadeIcw4 = 0x11;
        const byte Icw3SlaveOnIrq2 = 0x04;
        const byte Icw4X86Mode = 0x01;
        const byte NonSpecificEoi = 0x20;
        ushort ivtEntry = (ushort)((vectorBase + irq) * 4);
        ushort handlerOffset = 0;
        for (int pass = 0; pass < 2; pass++)
        {
            var asm = new Assembler(16);
            var handler = asm.CreateLabel();
            var wait = asm.CreateLabel();
            asm.cli();
            asm.xor(ax, ax);
            asm.mov(es, ax);
            asm.mov(__word_ptr.es[ivtEntry], handlerOffset);
            asm.mov(__word_ptr.es[ivtEntry + 2], (ushort)(FlatBinaryLoader.LoadAddress >> 4));
            foreach (var (port, value) in new[] { (PicCommand, Icw1EdgeCascadeIcw4), (PicData, vectorBase), (PicData, Icw3SlaveOnIrq2), (PicData, Icw4X86Mode), (PicData, (byte)~(1 << irq)) })
            {
                asm.mov(al, value);
                asm.@out((byte)port, al);
            }

            asm.mov(dx, ResultPort);
            asm.mov(al, ready);
            asm.@out(dx, al);
            asm.sti();
            asm.Label(ref wait);
            asm.hlt();
            asm.jmp(wait);
            asm.Label(ref handler);
            asm.mov(al, NonSpecificEoi);
            asm.@out((byte)PicCommand, al);
            asm.mov(dx, ResultPort);
            asm.mov(al, handled);
            asm.@out(dx, al);
            GuestAssembler.EmitExit(asm, 0);
            using var stream = new MemoryStream();
            var result = asm.Assemble(new StreamCodeWriter(stream), 0, BlockEncoderOptions.ReturnNewInstructionOffsets);
            if (pass == 1)
            {
                return stream.ToArray();
            }

            handlerOffset = (ushort)result.GetLabelRIP(handler);
        }

        throw new InvalidOperationException("unreachable");
    }

    private static VcpuExit RunToCompletion(IVirtualMachine vm, VcpuEntryState entry)
    {
        var vcpu = vm.Vcpus[0];
        vcpu.SetEntryState(entry);
        vcpu.Start();
        Assert.True(vcpu.Completion.Wait(Timeout), "the guest did not finish");
        return vcpu.Completion.Result;
    }
}
