using ActorVmm.Kvm;
using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using ActorVmm.TestGuests;
using ActorVmm.TestSupport.Pci;
using ActorVmm.TestSupport.Routing;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.KvmLane;

/// <summary>The outcome of one KVM-only check.</summary>
public sealed record KvmCheckResult(string Name, bool Passed, string Detail);

/// <summary>
/// Checks of KVM features whose outcome is checked on its own rather than diffed against the
/// emulator: 64-bit entry, interrupts through KVM_IRQ_LINE and an irqfd, ioeventfd, MSIs (one-off
/// and through a reprogrammed GSI route with its irqfd) to a second vCPU, a shared level-triggered
/// GSI after MSI routes replaced the routing table, and a doorbell served by the poller thread.
/// Run by the nested lane (so CI exercises these ioctls on real KVM) and by the real-KVM unit tests.
/// </summary>
public static class KvmChecks
{
    /// <summary>Guest RAM for the checks.</summary>
    public const ulong MemorySize = LaneGuests.MemorySize;

    /// <summary>Port the check guests report progress on.</summary>
    public const ushort ResultPort = IoGuests.ResultPort;

    /// <summary>Port the ioeventfd check guest writes.</summary>
    public const ushort EventPort = 0x610;

    /// <summary>Value the ioeventfd guest writes (and the datamatch).</summary>
    public const byte EventValue = 0x42;

    /// <summary>The ISA IRQ the interrupt checks raise.</summary>
    public const int Irq = 4;

    /// <summary>Vector base the interrupt guest programs into the master 8259.</summary>
    public const byte VectorBase = 0x20;

    /// <summary>Reported by the interrupt guest once it waits with interrupts enabled.</summary>
    public const byte ReadyMarker = 1;

    /// <summary>Reported by the interrupt guest's handler.</summary>
    public const byte HandledMarker = 2;

    /// <summary>Where the 64-bit guest's code is placed.</summary>
    public const ulong LongModeCodeAddress = 0x2_0000;

    /// <summary>The 64-bit guest's stack.</summary>
    public const ulong LongModeStack = 0x7_0000;

    /// <summary>The byte the 64-bit guest writes to COM1.</summary>
    public const byte LongModeMarker = (byte)'L';

    private const ushort PicCommand = 0x20;
    private const ushort PicData = 0x21;
    private const byte Icw1EdgeCascadeIcw4 = 0x11;
    private const byte Icw3SlaveOnIrq2 = 0x04;
    private const byte Icw4X86Mode = 0x01;
    private const byte NonSpecificEoi = 0x20;

    /// <summary>Names of the check guests' images (saved with the lane guests for the nested run).</summary>
    public const string InterruptImage = "check-interrupt";

    /// <summary>The 64-bit guest's image name.</summary>
    public const string LongModeImage = "check-long-mode";

    /// <summary>The ioeventfd guest's image name.</summary>
    public const string IoEventFdImage = "check-ioeventfd";

    /// <summary>The two-vCPU MSI guest's image name.</summary>
    public const string MsiImage = "check-msi";

    /// <summary>The shared level-triggered IRQ guest's image name.</summary>
    public const string SharedLevelImage = "check-shared-level";

    /// <summary>The doorbell guest's image name.</summary>
    public const string DoorbellImage = "check-doorbell";

    /// <summary>The PCI guest's image name.</summary>
    public const string PciImage = "check-pci";

    /// <summary>vCPUs of the MSI check's VM.</summary>
    public const int MsiVcpus = 2;

    private static IReadOnlyDictionary<string, byte[]>? s_loadedImages;

    /// <summary>Every check image's name (what <see cref="BuildImages"/> returns and the nested run loads).</summary>
    public static IReadOnlyList<string> ImageNames { get; } = [InterruptImage, LongModeImage, IoEventFdImage, MsiImage, SharedLevelImage, DoorbellImage, PciImage];

    /// <summary>Builds every check guest image with the Iced assembler.</summary>
    public static IReadOnlyDictionary<string, byte[]> BuildImages() => ImageNames.ToDictionary(name => name, Assemble);

    /// <summary>Uses pre-built images (from <see cref="GuestFiles"/>) instead of assembling them here.</summary>
    public static void UseImages(IReadOnlyDictionary<string, byte[]> images) => s_loadedImages = images;

    /// <summary>Every check, by name.</summary>
    public static IReadOnlyDictionary<string, Func<KvmHypervisor, TimeSpan, KvmCheckResult>> All { get; } =
        new Dictionary<string, Func<KvmHypervisor, TimeSpan, KvmCheckResult>>
        {
            ["long-mode-entry-runs-64-bit-code-with-paging"] = LongMode,
            ["irq-line-pulse-reaches-the-guest-via-8259-and-lint0-extint"] = (kvm, timeout) => Interrupt(kvm, timeout, useIrqFd: false),
            ["irqfd-signal-reaches-the-guest-via-8259"] = (kvm, timeout) => Interrupt(kvm, timeout, useIrqFd: true),
            ["ioeventfd-write-signals-the-eventfd-without-a-trap"] = IoEventFd,
            ["msi-one-off-and-reprogrammed-irqfd-route-reach-vcpu-1-only"] = Msi,
            ["shared-level-gsi-held-until-both-sources-deassert-after-gsi-routing-set"] = SharedLevel,
            ["doorbell-ioeventfd-reaches-the-callback-on-the-poller-thread"] = DoorbellOnPoller,
            ["pci-guest-enumerates-sizes-and-moves-bars-through-cf8-and-ecam"] = PciGuest,
        };

    /// <summary>
    /// A real-mode guest that installs an IVT handler for <see cref="Irq"/>, initialises the master
    /// 8259 with <see cref="VectorBase"/> and only that IRQ unmasked, reports ready, then enables
    /// interrupts and halts. The handler sends EOI, reports handled and exits.
    /// </summary>
    public static byte[] InterruptGuest()
    {
        ushort ivtEntry = (VectorBase + Irq) * 4;
        ushort handlerOffset = 0;
        for (int pass = 0; ; pass++)
        {
            var asm = new Assembler(16);
            var handler = asm.CreateLabel();
            var wait = asm.CreateLabel();
            asm.cli();
            asm.xor(ax, ax);
            asm.mov(es, ax);
            asm.mov(__word_ptr.es[ivtEntry], handlerOffset);
            asm.mov(__word_ptr.es[ivtEntry + 2], (ushort)(FlatBinaryLoader.LoadAddress >> 4));
            foreach (var (port, value) in new[] { (PicCommand, Icw1EdgeCascadeIcw4), (PicData, VectorBase), (PicData, Icw3SlaveOnIrq2), (PicData, Icw4X86Mode), (PicData, unchecked((byte)~(1 << Irq))) })
            {
                asm.mov(al, value);
                asm.@out((byte)port, al);
            }

            asm.mov(dx, ResultPort);
            asm.mov(al, ReadyMarker);
            asm.@out(dx, al);
            // The interrupt is already pending (the host raised it during the ready write), so it
            // is taken right after the instruction that follows STI: the NOP keeps HLT out of STI's
            // interrupt shadow, an edge case nested SVM under TCG was seen to mishandle.
            asm.sti();
            asm.nop();
            asm.Label(ref wait);
            asm.hlt();
            asm.jmp(wait);
            asm.Label(ref handler);
            asm.mov(al, NonSpecificEoi);
            asm.@out((byte)PicCommand, al);
            asm.mov(dx, ResultPort);
            asm.mov(al, HandledMarker);
            asm.@out(dx, al);
            GuestAssembler.EmitExit(asm, 0);
            using var stream = new MemoryStream();
            var result = asm.Assemble(new StreamCodeWriter(stream), 0, BlockEncoderOptions.ReturnNewInstructionOffsets);
            if (pass == 1)
            {
                return stream.ToArray();
            }

            // First pass: learn where the handler lands (the immediate's size does not change).
            handlerOffset = (ushort)result.GetLabelRIP(handler);
        }
    }

    /// <summary>64-bit code at <see cref="LongModeCodeAddress"/>: writes the marker to COM1, CR0.PG to the result port, exits.</summary>
    public static byte[] LongModeGuest()
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
        return stream.ToArray();
    }

    private static KvmCheckResult LongMode(KvmHypervisor kvm, TimeSpan timeout)
    {
        const string Name = "long-mode";
        using var vm = kvm.CreateVm(new VmSpec(Name, MemorySize));
        var recorder = TrapRecorder.Attach(vm, MemorySize);
        vm.Memory.Write(LongModeCodeAddress, Image(LongModeImage));
        var exit = RunBootVcpu(vm, new LongModeEntry(LongModeCodeAddress, LongModeStack), timeout);
        string[] expected =
        [
            TrapRecorder.Format(TrapBus.Pio, TrapDirection.Write, Guests.Com1, 1, LongModeMarker),
            TrapRecorder.Format(TrapBus.Pio, TrapDirection.Write, ResultPort, 1, 1),
            TrapRecorder.Format(TrapBus.Pio, TrapDirection.Write, GuestAssembler.ExitPort, 1, 0),
        ];
        bool passed = exit?.Reason == VcpuExitReason.Stopped && recorder.Lines.SequenceEqual(expected);
        return new KvmCheckResult(Name, passed, $"exit={Describe(exit)} traps=[{string.Join("; ", recorder.Lines)}]");
    }

    private static KvmCheckResult Interrupt(KvmHypervisor kvm, TimeSpan timeout, bool useIrqFd)
    {
        string name = useIrqFd ? "irqfd" : "irq-line";
        using var vm = (KvmVm)kvm.CreateVm(new VmSpec(name, MemorySize));
        using var irqFd = useIrqFd ? vm.RegisterIrqFd(Irq) : null;
        var line = vm.GetInterruptLine(Irq);
        var markers = new List<ulong>();
        var traps = vm.Traps.ClaimWriter();
        traps.Register(TrapBus.Pio, ResultPort, 1, access =>
        {
            markers.Add(access.Value);
            if (access.Value == ReadyMarker)
            {
                if (irqFd is not null)
                {
                    irqFd.Signal();
                }
                else
                {
                    line.Pulse();
                }
            }
        }, name: "result");
        traps.Register(TrapBus.Pio, GuestAssembler.ExitPort, 1, access => vm.Vcpus[access.VcpuId].Stop(TimeSpan.Zero), name: "exit");
        var exit = RunBootVcpu(vm, FlatBinaryLoader.Load(vm.Memory, Image(InterruptImage)), timeout);
        bool passed = exit?.Reason == VcpuExitReason.Stopped && markers.SequenceEqual([ReadyMarker, HandledMarker]);
        return new KvmCheckResult(name, passed, $"exit={Describe(exit)} markers=[{string.Join(", ", markers)}]");
    }

    private static KvmCheckResult IoEventFd(KvmHypervisor kvm, TimeSpan timeout)
    {
        const string Name = "ioeventfd";
        byte[] image = Image(IoEventFdImage);
        using var vm = (KvmVm)kvm.CreateVm(new VmSpec(Name, MemorySize));
        var recorder = TrapRecorder.Attach(vm, MemorySize);
        using var eventFd = vm.RegisterIoEventFd(TrapBus.Pio, EventPort, 1, EventValue);
        var exit = RunBootVcpu(vm, FlatBinaryLoader.Load(vm.Memory, image), timeout);
        ulong signalled = eventFd.Consume();
        bool trapped = recorder.Lines.Any(l => l.Contains($"0x{EventPort:X} ", StringComparison.Ordinal));
        bool passed = exit?.Reason == VcpuExitReason.Stopped && signalled == 1 && !trapped;
        return new KvmCheckResult(Name, passed, $"exit={Describe(exit)} eventfd={signalled} trapped={trapped}");
    }

    /// <summary>Writes <see cref="EventValue"/> to <see cref="EventPort"/>, then exits.</summary>
    public static byte[] IoEventFdGuest() =>
        GuestAssembler.Assemble16(asm =>
        {
            asm.mov(al, EventValue);
            asm.mov(dx, EventPort);
            asm.@out(dx, al);
            GuestAssembler.EmitExit(asm, 0);
        });

    private static KvmCheckResult Msi(KvmHypervisor kvm, TimeSpan timeout)
    {
        using var vm = kvm.CreateVm(new VmSpec("msi", MemorySize, MsiVcpus));
        var result = RoutingScenarios.MsiToSecondVcpu(vm, Image(MsiImage), timeout);
        return new KvmCheckResult("msi", result.Passed, result.Detail);
    }

    private static KvmCheckResult SharedLevel(KvmHypervisor kvm, TimeSpan timeout)
    {
        using var vm = kvm.CreateVm(new VmSpec("shared-level", MemorySize));
        // Installing MSI routes replaces the whole routing table: the pin routes to the 8259 must survive it.
        using var route = vm.Interrupts.CreateMsiRoute(MsiMessage.Fixed(0, RoutingGuests.MsiVector));
        route.Update(MsiMessage.Fixed(0, (byte)(RoutingGuests.MsiVector + 1)));
        var result = RoutingScenarios.SharedLevelGsi(vm, Image(SharedLevelImage), timeout);
        return new KvmCheckResult("shared-level", result.Passed, result.Detail);
    }

    private static KvmCheckResult DoorbellOnPoller(KvmHypervisor kvm, TimeSpan timeout)
    {
        using var vm = kvm.CreateVm(new VmSpec("doorbell", MemorySize));
        var outcome = RoutingScenarios.Doorbells(vm, Image(DoorbellImage), timeout);
        int poller = EventFdPoller.Shared.ManagedThreadId;
        string expectedTrap = $"{TrapBus.Pio} 0x{RoutingGuests.NotifyPort:X} write 0x{RoutingGuests.OtherValue:X}";
        bool passed = outcome.Exit?.Reason == VcpuExitReason.Stopped
            && outcome.PortCallbackThreads.SequenceEqual([poller]) && outcome.MmioCallbackThreads.SequenceEqual([poller])
            && outcome.VcpuThread != poller && outcome.Trapped.SequenceEqual([expectedTrap]);
        return new KvmCheckResult("doorbell", passed, $"exit={Describe(outcome.Exit)} port=[{string.Join(",", outcome.PortCallbackThreads)}] mmio=[{string.Join(",", outcome.MmioCallbackThreads)}] poller={poller} vcpu={outcome.VcpuThread} trapped=[{string.Join("; ", outcome.Trapped)}]");
    }

    private static byte[] Image(string name) => s_loadedImages is { } loaded ? loaded[name] : Assemble(name);

    private static byte[] Assemble(string name) => name switch
    {
        InterruptImage => InterruptGuest(),
        LongModeImage => LongModeGuest(),
        IoEventFdImage => IoEventFdGuest(),
        MsiImage => RoutingGuests.MsiTarget(),
        SharedLevelImage => RoutingGuests.SharedLevelIrq(),
        DoorbellImage => RoutingGuests.Doorbells(),
        PciImage => PciEchoGuest.Build(),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown check image"),
    };

    /// <summary>
    /// The PCI guest (<see cref="PciGuests"/>) with the platform's host bridge and the echo device on KVM: it enumerates
    /// bus 0 through 0xCF8/0xCFC, sizes every BAR, moves them, and finds the device only at the new addresses, then does
    /// the same through ECAM. Not diffed with the emulator (its traps go to real devices, not the recorder); its reports
    /// are checked by the same code as the emulator test's.
    /// </summary>
    private static KvmCheckResult PciGuest(KvmHypervisor kvm, TimeSpan timeout)
    {
        const string Name = "pci";
        using var vm = kvm.CreateVm(new VmSpec(Name, MemorySize));
        var machine = PciTestMachine.Attach(vm);
        var entry = FlatBinaryLoader.Load(vm.Memory, Image(PciImage));
        var exit = RunBootVcpu(vm, entry, timeout);
        var problems = PciEchoGuest.Check(machine.Reports, vm.Layout);
        bool passed = exit?.Reason == VcpuExitReason.Stopped && machine.ExitStatus == 0 && problems.Count == 0;
        return new KvmCheckResult(Name, passed, $"exit={Describe(exit)} status={machine.ExitStatus?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"} reports={machine.Reports.Count} problems=[{string.Join("; ", problems)}]");
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

    private static string Describe(VcpuExit? exit) => exit is null ? "Timeout" : $"{exit.Reason} {exit.Message}".Trim();
}
