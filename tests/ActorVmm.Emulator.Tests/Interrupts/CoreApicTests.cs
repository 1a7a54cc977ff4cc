using ActorVmm.Devices.IoApic;
using ActorVmm.Emulator.Cpu;
using ActorVmm.Emulator.Time;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Vcpu;
using Iced.Intel;
using Microsoft.Extensions.Time.Testing;
using static Iced.Intel.AssemblerRegisters;
using static ActorVmm.Machine.Interrupts.LocalApicRegisters;

namespace ActorVmm.Emulator.Tests.Interrupts;

/// <summary>The core's side of the interrupt platform: the TSC on the virtual clock, INIT/SIPI, NMI, and GSIs through the IOAPIC.</summary>
public sealed class CoreApicTests : IDisposable
{
    private const ulong Memory = 1024 * 1024;
    private const ulong CodeAddress = 0x1000;
    private const byte StartPage = 0x9A;
    private const byte Vector = 0x51;
    private const uint MsrTsc = 0x10;
    private const uint MsrApicBase = 0x1B;

    private readonly FakeTimeProvider _time = new();
    private readonly EmulatorVm _vm;

    public CoreApicTests()
    {
        _vm = new EmulatorVm(new VmSpec("apic", Memory, 2), time: _time);
    }

    public void Dispose() => _vm.Dispose();

    private X86Core Flat(int vcpu, Action<Assembler> emit)
    {
        var core = _vm.Core(vcpu);
        core.SetFlatMode(64);
        var asm = new Assembler(64);
        emit(asm);
        using var stream = new MemoryStream();
        asm.Assemble(new StreamCodeWriter(stream), CodeAddress);
        _vm.Memory.Write(CodeAddress, stream.ToArray());
        core.Rip = CodeAddress;
        return core;
    }

    private static void Steps(X86Core core, int count)
    {
        for (int i = 0; i < count; i++)
        {
            core.Step();
        }
    }

    private static ulong EdxEax(X86Core core) => (core.Gpr[X86Core.RDX] << 32) | (uint)core.Gpr[X86Core.RAX];

    [Fact]
    public void Rdtsc_counts_virtual_time_at_the_documented_frequency_not_instructions()
    {
        var core = Flat(0, asm =>
        {
            asm.rdtsc();
            for (int i = 0; i < 50; i++)
            {
                asm.nop();
            }

            asm.rdtsc();
            asm.rdtsc();
        });

        Steps(core, 1);
        ulong first = EdxEax(core);
        Steps(core, 51);
        Assert.Equal(first, EdxEax(core));

        _time.Advance(TimeSpan.FromMilliseconds(3));
        Steps(core, 1);

        Assert.Equal(first + (ulong)(VirtualClock.TscHz * 3 / 1000), EdxEax(core));
    }

    [Fact]
    public void Writing_ia32_tsc_moves_only_that_vcpus_tsc_which_keeps_counting_from_there()
    {
        const ulong Written = 0x1234_5678_9ABC;
        var boot = Flat(0, asm =>
        {
            asm.mov(ecx, MsrTsc);
            asm.mov(eax, unchecked((uint)Written));
            asm.mov(edx, (uint)(Written >> 32));
            asm.wrmsr();
            asm.rdmsr();
        });
        Steps(boot, 4);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Steps(boot, 1);

        Assert.Equal(Written + (ulong)(VirtualClock.TscHz / 1000), EdxEax(boot));
        Assert.Equal((ulong)(VirtualClock.TscHz / 1000), _vm.Core(1).ReadTsc()); // the other vCPU still reads the clock
    }

    [Fact]
    public void Every_vcpu_reads_the_same_tsc_at_the_same_instant()
    {
        _time.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal(_vm.Core(0).ReadTsc(), _vm.Core(1).ReadTsc());
        Assert.Equal((ulong)(2 * VirtualClock.TscHz), _vm.Core(1).ReadTsc());
    }

    [Fact]
    public void Ia32_apic_base_reads_the_enabled_default_base_with_the_bsp_flag_on_vcpu_0_only()
    {
        var boot = Flat(0, asm =>
        {
            asm.mov(ecx, MsrApicBase);
            asm.rdmsr();
        });
        Steps(boot, 2);
        var ap = Flat(1, asm =>
        {
            asm.mov(ecx, MsrApicBase);
            asm.rdmsr();
        });
        Steps(ap, 2);

        Assert.Equal(DefaultBase | ApicBaseEnable | ApicBaseBootProcessor, EdxEax(boot));
        Assert.Equal(DefaultBase | ApicBaseEnable, EdxEax(ap));
    }

    [Fact]
    public void An_application_processor_waits_for_init_and_startup_then_runs_in_real_mode_at_the_start_page()
    {
        var ap = _vm.Core(1);
        _vm.Memory.Write((ulong)StartPage << 12, [0xF4]); // hlt
        Assert.True(ap.IsWaitingForStartup);
        Assert.Equal(VcpuExitReason.Halt, ap.Run().Reason);

        var boot = _vm.Apic(0);
        boot.WriteRegister(InterruptCommandHigh, 1u << IdShift);
        boot.WriteRegister(InterruptCommandLow, DeliveryModeInit | IcrLevelAssert | IcrTriggerLevel);
        boot.WriteRegister(InterruptCommandLow, DeliveryModeStartUp | IcrLevelAssert | StartPage);
        var exit = ap.Run();

        Assert.Equal(VcpuExitReason.Halt, exit.Reason);
        Assert.False(ap.IsWaitingForStartup);
        Assert.Equal(16, ap.Bitness);
        Assert.Equal((ushort)(StartPage << 8), ap.Seg[X86Core.CS].Selector);
        Assert.Equal((ulong)StartPage << 12, ap.Seg[X86Core.CS].Base);
        Assert.Equal(1UL, ap.Rip); // after the HLT at offset 0
    }

    [Fact]
    public void A_startup_ipi_to_a_running_processor_is_ignored()
    {
        var boot = Flat(0, asm =>
        {
            asm.nop();
            asm.hlt();
        });
        _vm.Apic(1).WriteRegister(InterruptCommandLow, IcrShorthandAllButSelf | DeliveryModeStartUp | IcrLevelAssert | StartPage);

        Assert.Equal(VcpuExitReason.Halt, boot.Run().Reason);

        Assert.Equal(64, boot.Bitness);
        Assert.Equal(CodeAddress + 2, boot.Rip);
        Assert.False(_vm.Apic(0).HasEvents);
    }

    [Fact]
    public void A_halted_vcpu_is_woken_by_a_host_timer_at_its_apic_timer_deadline_not_before()
    {
        const uint TimerVector = 0xEC;
        const uint Count = 2_500_000; // 2.5 ms at divide-by-1 (1 GHz input clock)
        var woken = new List<int>();
        _vm.ApicBus.ConnectWake(woken.Add);
        var apic = _vm.Apic(0);
        apic.WriteRegister(SpuriousVector, SoftwareEnable | SpuriousVectorReset);
        apic.WriteRegister(TimerDivide, TimerDivideBy1);
        apic.WriteRegister(LvtTimer, TimerModeOneShot | TimerVector);
        apic.WriteRegister(TimerInitialCount, Count);
        var core = Flat(0, asm => asm.hlt());

        Assert.Equal(VcpuExitReason.Halt, core.Run().Reason);
        _time.Advance(TimeSpan.FromMilliseconds(2));
        Assert.Empty(woken);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal([0], woken);

        Assert.Equal(VcpuExitReason.Halt, core.Run().Reason); // IF = 0: the request waits in the IRR
        Assert.True(apic.HasRequests);
        Assert.Equal(1, apic.TimerInterrupts);
    }

    [Fact]
    public void A_pci_line_on_the_8259_irq_also_reaches_its_ioapic_pin_and_is_delivered_level_triggered()
    {
        int pirqB = 1;
        int irq = PciIntxSwizzle.PicIrqs[pirqB];
        int pin = PciIntxSwizzle.FirstGsi + pirqB;
        _vm.Apic(0).WriteRegister(SpuriousVector, SoftwareEnable | SpuriousVectorReset);
        byte low = (byte)(IoApicRegisters.RedirectionBaseIndex + (2 * pin));
        _vm.ApicBus.WriteIoApic(IoApicRegisters.RegisterSelect, sizeof(uint), low);
        _vm.ApicBus.WriteIoApic(IoApicRegisters.Window, sizeof(uint), IoApicRegisters.TriggerLevel | IoApicRegisters.PolarityActiveLow | Vector);

        _vm.Interrupts.GetSource(irq, "pci:00:02.0").SetLevel(true);

        Assert.True(_vm.Apic(0).TryAcknowledge(out byte vector));
        Assert.Equal(Vector, vector);
        Assert.NotEqual(0UL, _vm.ApicBus.CaptureIoApic().Redirection[pin] & IoApicRegisters.RemoteIrr);
        Assert.True(_vm.ApicBus.CaptureIoApic().PinLevels[irq]);
    }
}
