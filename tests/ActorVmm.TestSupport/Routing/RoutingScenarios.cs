using System.Collections.Concurrent;
using ActorVmm.Devices.Pic;
using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using ActorVmm.TestGuests;

namespace ActorVmm.TestSupport.Routing;

/// <summary>The outcome of a routing scenario: whether the guest saw what it must, and what it did.</summary>
public sealed record ScenarioResult(bool Passed, string Detail);

/// <summary>What the doorbell guest caused: callbacks (with the thread each ran on) and the writes that trapped.</summary>
/// <param name="Exit">How the boot vCPU ended (null on timeout).</param>
/// <param name="PortCallbackThreads">Managed thread id of each port-doorbell callback.</param>
/// <param name="MmioCallbackThreads">Managed thread id of each MMIO-doorbell callback.</param>
/// <param name="VcpuThread">Managed thread id of the vCPU thread (seen by a trap handler).</param>
/// <param name="Trapped">Writes that reached the trap table at the doorbell addresses.</param>
public sealed record DoorbellOutcome(VcpuExit? Exit, IReadOnlyList<int> PortCallbackThreads, IReadOnlyList<int> MmioCallbackThreads, int VcpuThread, IReadOnlyList<string> Trapped);

/// <summary>
/// Host sides of the <see cref="RoutingGuests"/>, written against <see cref="IVirtualMachine"/> only, so
/// the same scenario runs on the emulator, on KVM here and in the nested lane.
/// </summary>
public static class RoutingScenarios
{
    /// <summary>The owners of the two sources the level scenario drives on one GSI.</summary>
    public const string LevelSourceA = "level-source-a";

    /// <summary>The second source's owner.</summary>
    public const string LevelSourceB = "level-source-b";

    /// <summary>
    /// Two vCPUs run <see cref="RoutingGuests.MsiTarget"/>. Once both wait, a one-off MSI aimed at APIC 1
    /// (<see cref="IInterruptRouter.SignalMsi"/>) must be handled by vCPU 1, reading APIC ID 1; once vCPU 1
    /// waits again, an MSI route created aimed at APIC 0, reprogrammed to APIC 1 and triggered from this
    /// thread must be handled by vCPU 1 too. vCPU 0, waiting with interrupts on all along, must take neither.
    /// </summary>
    public static ScenarioResult MsiToSecondVcpu(IVirtualMachine vm, byte[] image, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(vm);
        if (vm.Vcpus.Count < 2)
        {
            throw new ArgumentException("The MSI scenario needs a VM with two vCPUs", nameof(vm));
        }

        var events = new BlockingCollection<(int Vcpu, uint Value)>();
        Writer(vm).Register(TrapBus.Pio, RoutingGuests.ResultPort, sizeof(uint), access =>
        {
            if (access.IsWrite)
            {
                events.Add((access.VcpuId, (uint)access.Value));
            }
        }, name: "msi-result");
        using var route = vm.Interrupts.CreateMsiRoute(MsiMessage.Fixed(0, RoutingGuests.MsiVector));
        var entry = FlatBinaryLoader.Load(vm.Memory, image);
        for (int i = vm.Vcpus.Count - 1; i >= 0; i--)
        {
            // The AP starts from the boot vCPU's INIT and start-up IPI on both backends: KVM needs its entry state
            // (CPUID, APIC setup) and still waits for the IPI; the emulator's APs wait for it when given none.
            if (i == 0 || vm.HasInKernelIrqchip)
            {
                vm.Vcpus[i].SetEntryState(entry);
            }

            vm.Vcpus[i].Start();
        }

        (int, uint) ready0 = (0, RoutingGuests.MsiReadyMarker);
        (int, uint) ready1 = (1, RoutingGuests.MsiReadyMarker | 1);
        (int, uint) handledBy1 = (1, RoutingGuests.MsiHandledMarker | 1);
        var seen = new List<(int Vcpu, uint Value)>();
        bool Expect((int, uint) wanted)
        {
            if (!events.TryTake(out var next, timeout))
            {
                return false;
            }

            seen.Add(next);
            return next == wanted;
        }

        for (int i = 0; i < 2 && events.TryTake(out var waiting, timeout); i++)
        {
            seen.Add(waiting);
        }

        bool bothWaiting = seen.Order().SequenceEqual([ready0, ready1]);
        bool signalled = bothWaiting && vm.Interrupts.SignalMsi(MsiMessage.Fixed(1, RoutingGuests.MsiVector));
        bool oneOffTaken = signalled && Expect(handledBy1) && Expect(ready1);
        bool routeTaken = false;
        if (oneOffTaken)
        {
            route.Update(MsiMessage.Fixed(1, RoutingGuests.MsiVector));
            route.Trigger();
            routeTaken = Expect(handledBy1);
        }

        StopAll(vm, timeout);
        while (events.TryTake(out var late))
        {
            seen.Add(late);
        }

        bool onlyVcpu1Handled = seen.Where(e => (e.Value & RoutingGuests.MsiHandledMarker) != 0).SequenceEqual([handledBy1, handledBy1]);
        bool passed = bothWaiting && signalled && oneOffTaken && routeTaken && onlyVcpu1Handled;
        return new ScenarioResult(passed, $"signalled={signalled} oneOff={oneOffTaken} route={routeTaken} events=[{string.Join(", ", seen.Select(e => $"vcpu{e.Vcpu}:0x{e.Value:X}"))}]");
    }

    /// <summary>
    /// The boot vCPU runs <see cref="RoutingGuests.SharedLevelIrq"/> with IRQ <see cref="RoutingGuests.LevelIrq"/>
    /// level-triggered. Two sources assert it; after the first interrupt source A deasserts (the GSI must stay
    /// asserted, so the 8259 interrupts again after EOI), after the second source B does (the GSI drops, no third).
    /// On a backend without an in-kernel irqchip, attach a PIC first (<see cref="AttachPic"/>).
    /// </summary>
    public static ScenarioResult SharedLevelGsi(IVirtualMachine vm, byte[] image, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(vm);
        var a = vm.Interrupts.GetSource(RoutingGuests.LevelIrq, LevelSourceA);
        var b = vm.Interrupts.GetSource(RoutingGuests.LevelIrq, LevelSourceB);
        var markers = new List<ulong>();
        int handled = 0;
        bool done = false;
        bool assertedWithBOnly = false;
        Writer(vm).Register(TrapBus.Pio, RoutingGuests.ResultPort, sizeof(ushort), access =>
        {
            if (!access.IsWrite)
            {
                return;
            }

            markers.Add(access.Value);
            if (access.Value == RoutingGuests.LevelReadyMarker)
            {
                a.SetLevel(true);
                b.SetLevel(true);
            }
            else if (access.Value == RoutingGuests.LevelHandledMarker)
            {
                handled++;
                if (handled == 1)
                {
                    a.SetLevel(false);
                    assertedWithBOnly = vm.Interrupts.IsAsserted(RoutingGuests.LevelIrq);
                }
                else if (handled == 2)
                {
                    b.SetLevel(false);
                    Volatile.Write(ref done, true);
                }
            }
        }, name: "level-result");
        Writer(vm).Register(TrapBus.Pio, RoutingGuests.QueryPort, 1, access =>
        {
            if (!access.IsWrite)
            {
                access.SetValue(Volatile.Read(ref done) ? 1u : 0u);
            }
        }, name: "level-query");
        Writer(vm).Register(TrapBus.Pio, GuestAssembler.ExitPort, 1, access => vm.Vcpus[access.VcpuId].Stop(TimeSpan.Zero), name: "exit");
        var exit = RunBootVcpu(vm, FlatBinaryLoader.Load(vm.Memory, image), timeout);
        ulong[] expected = [RoutingGuests.LevelReadyMarker, RoutingGuests.LevelHandledMarker, RoutingGuests.LevelHandledMarker, RoutingGuests.LevelDoneMarker | 2];
        bool stillAsserted = vm.Interrupts.IsAsserted(RoutingGuests.LevelIrq);
        bool passed = exit?.Reason == VcpuExitReason.Stopped && markers.SequenceEqual(expected) && assertedWithBOnly && !stillAsserted;
        return new ScenarioResult(passed, $"exit={Describe(exit)} markers=[{string.Join(", ", markers.Select(m => $"0x{m:X}"))}] assertedWithBOnly={assertedWithBOnly} assertedAtEnd={stillAsserted}");
    }

    /// <summary>
    /// The boot vCPU runs <see cref="RoutingGuests.Doorbells"/> with a port doorbell (2 bytes, data match
    /// <see cref="RoutingGuests.NotifyValue"/>) and an MMIO doorbell (4 bytes, any value) registered, and
    /// trap regions under both. Waits for both callbacks (KVM's come from the poller thread, later).
    /// </summary>
    public static DoorbellOutcome Doorbells(IVirtualMachine vm, byte[] image, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(vm);
        var portThreads = new ConcurrentQueue<int>();
        var mmioThreads = new ConcurrentQueue<int>();
        var trapped = new ConcurrentQueue<string>();
        int vcpuThread = -1;
        Writer(vm).Register(TrapBus.Pio, RoutingGuests.NotifyPort, sizeof(ushort), access =>
        {
            Volatile.Write(ref vcpuThread, Environment.CurrentManagedThreadId);
            trapped.Enqueue($"{access.Bus} 0x{access.Address:X} {(access.IsWrite ? "write" : "read")} 0x{access.Value:X}");
        }, name: "notify-port");
        Writer(vm).Register(TrapBus.Mmio, RoutingGuests.NotifyMmioAddress, sizeof(uint), access =>
            trapped.Enqueue($"{access.Bus} 0x{access.Address:X} {(access.IsWrite ? "write" : "read")} 0x{access.Value:X}"), name: "notify-mmio");
        Writer(vm).Register(TrapBus.Pio, GuestAssembler.ExitPort, 1, access => vm.Vcpus[access.VcpuId].Stop(TimeSpan.Zero), name: "exit");
        using var port = vm.Doorbells.Register(new Doorbell(TrapBus.Pio, RoutingGuests.NotifyPort, sizeof(ushort), RoutingGuests.NotifyValue), () => portThreads.Enqueue(Environment.CurrentManagedThreadId));
        using var mmio = vm.Doorbells.Register(new Doorbell(TrapBus.Mmio, RoutingGuests.NotifyMmioAddress, sizeof(uint)), () => mmioThreads.Enqueue(Environment.CurrentManagedThreadId));
        var exit = RunBootVcpu(vm, FlatBinaryLoader.Load(vm.Memory, image), timeout);
        SpinWait.SpinUntil(() => !portThreads.IsEmpty && !mmioThreads.IsEmpty, timeout);
        return new DoorbellOutcome(exit, [.. portThreads], [.. mmioThreads], Volatile.Read(ref vcpuThread), [.. trapped]);
    }

    /// <summary>
    /// For a backend without an in-kernel irqchip: a userspace 8259 pair with its ports on the trap table,
    /// attached as the VM's interrupt controller.
    /// </summary>
    public static PicDevice AttachPic(IVirtualMachine vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        var pic = new PicDevice();
        for (int i = 0; i < pic.Regions.Count; i++)
        {
            int region = i;
            var declared = pic.Regions[i];
            Writer(vm).Register(declared.Bus, declared.Base, declared.Length, access => pic.HandleTrap(region, access), name: $"pic[{i}]");
        }

        vm.AttachInterruptController(pic);
        return pic;
    }

    private static VcpuExit? RunBootVcpu(IVirtualMachine vm, VcpuEntryState entry, TimeSpan timeout)
    {
        var vcpu = vm.Vcpus[0];
        vcpu.SetEntryState(entry);
        vcpu.Start();
        if (vcpu.Completion.Wait(timeout))
        {
            return vcpu.Completion.Result;
        }

        vcpu.Stop(timeout);
        return null;
    }

    private static void StopAll(IVirtualMachine vm, TimeSpan timeout)
    {
        foreach (var vcpu in vm.Vcpus)
        {
            vcpu.Stop(timeout);
        }
    }

    private static string Describe(VcpuExit? exit) => exit is null ? "Timeout" : $"{exit.Reason} {exit.Message}".Trim();

    /// <summary>The scenario stands in for the supervisor: it claims each VM's trap-table writer once.</summary>
    private static TrapTableWriter Writer(IVirtualMachine vm) => Writers.GetValue(vm.Traps, table => table.ClaimWriter());

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<TrapTable, TrapTableWriter> Writers = [];
}
