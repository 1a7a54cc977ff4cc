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

    private static VcpuExit RunToCompletion(IVirtualMachine vm, VcpuEntryState entry)
    {
        var vcpu = vm.Vcpus[0];
        vcpu.SetEntryState(entry);
        vcpu.Start();
        Assert.True(vcpu.Completion.Wait(Timeout), "the guest did not finish");
        return vcpu.Completion.Result;
    }
}
