using ActorVmm.Emulator;
using ActorVmm.KvmLane;
using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using ActorVmm.TestGuests;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.Kvm.Tests.Kvm;

/// <summary>Runs guests on the real /dev/kvm (skipped where it does not open).</summary>
public sealed class RealKvmTests
{
    private const ulong RamSize = LaneGuests.MemorySize;
    private const ushort ResultPort = IoGuests.ResultPort;
    private const int CoalescedWrites = 3;
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
        var traps = vm.Traps.ClaimWriter();
        traps.Register(TrapBus.Mmio, IoGuests.MmioBase, 0x1000, a => order.Add($"mmio {a.Offset} {a.Value}"), TrapFlags.Coalesce, "coalesced");
        traps.Register(TrapBus.Pio, ResultPort, 1, a => order.Add("port"), name: "result");
        traps.Register(TrapBus.Pio, GuestAssembler.ExitPort, 1, a => vm.Vcpus[0].Stop(TimeSpan.Zero), name: "exit");

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
        var traps = vm.Traps.ClaimWriter();
        var coalesced = traps.Register(TrapBus.Mmio, IoGuests.MmioBase, 0x1000, _ => { }, TrapFlags.Coalesce, "coalesced");
        Assert.True(traps.Unregister(coalesced));
        traps.Register(TrapBus.Mmio, IoGuests.MmioBase, 0x1000, a => writes.Add(a.Value), name: "plain");
        traps.Register(TrapBus.Pio, GuestAssembler.ExitPort, 1, a => vm.Vcpus[0].Stop(TimeSpan.Zero), name: "exit");

        var exit = RunToCompletion(vm, FlatBinaryLoader.Load(vm.Memory, image));

        Assert.Equal(VcpuExitReason.Stopped, exit.Reason);
        Assert.Equal(Enumerable.Range(1, CoalescedWrites).Select(i => (ulong)i), writes);
        var core = Assert.IsType<KvmVcpuCore>(((VcpuThread)vm.Vcpus[0]).Core);
        Assert.Equal(0, core.CoalescedWrites);
    }

    [KvmFact]
    public void Second_vcpu_waiting_for_startup_ipi_inside_KVM_RUN_stops_promptly_while_the_boot_vcpu_runs_its_guest()
    {
        const int Vcpus = 2;
        const string Text = "ap";
        const int ExitPortWrites = 1;
        using var kvm = new KvmHypervisor();
        using var vm = kvm.CreateVm(new VmSpec("two-vcpus", RamSize, Vcpus));
        var recorder = TrapRecorder.Attach(vm, RamSize);
        var entry = FlatBinaryLoader.Load(vm.Memory, Guests.SerialHello(Text));
        var ap = vm.Vcpus[1];
        ap.SetEntryState(entry);
        ap.Start();

        var exit = RunToCompletion(vm, entry);
        Assert.True(ap.Stop(Timeout), "the application processor did not leave KVM_RUN");

        Assert.Equal(VcpuExitReason.Stopped, exit.Reason);
        Assert.Equal(VcpuExitReason.Stopped, ap.Completion.Result.Reason);
        Assert.Equal(0, recorder.ExitStatus);
        Assert.Equal(Text.Length + ExitPortWrites, recorder.Lines.Count);
    }

    public static TheoryData<string> KvmCheckNames => [.. KvmChecks.All.Keys];

    [KvmTheory]
    [MemberData(nameof(KvmCheckNames))]
    public void Kvm_only_lane_check_passes(string check)
    {
        using var kvm = new KvmHypervisor();

        var result = KvmChecks.All[check](kvm, Timeout);

        Assert.True(result.Passed, $"{check}: {result.Detail}");
    }

    [KvmTheory]
    [InlineData(nameof(IoGuests.SpinForever))]
    [InlineData(nameof(IoGuests.HaltForever))]
    public async Task Pause_and_stop_take_effect_while_the_guest_is_inside_KVM_RUN(string guest)
    {
        byte[] image = guest == nameof(IoGuests.SpinForever) ? IoGuests.SpinForever() : IoGuests.HaltForever();
        using var kvm = new KvmHypervisor();
        using var vm = kvm.CreateVm(new VmSpec(guest, RamSize));
        var vcpu = vm.Vcpus[0];
        vcpu.SetEntryState(FlatBinaryLoader.Load(vm.Memory, image));
        vcpu.Start();
        Thread.Sleep(TimeSpan.FromMilliseconds(100));

        await vcpu.Pause().WaitAsync(TimeSpan.FromSeconds(10));
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
