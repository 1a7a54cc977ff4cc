using ActorVmm.Emulator.Apic;
using ActorVmm.Emulator.Cpu;
using ActorVmm.Emulator.Time;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Emulator;

/// <summary>
/// What every emulated vCPU of one VM shares: RAM, the trap dispatcher, the code-page tracker, the
/// doorbells, the virtual clock, the APIC bus with every vCPU's local APIC (an MSI to vCPU n lands in
/// <c>Apics[n]</c>) and the IOAPIC, and the 8259 pair.
/// </summary>
internal sealed class EmulatorMachine
{
    private IInterruptController? _controller;

    public EmulatorMachine(GuestMemory memory, TrapDispatcher dispatcher, int vcpuCount, TimeProvider? time = null)
    {
        Memory = memory;
        Dispatcher = dispatcher;
        Code = new CodePageTracker(memory);
        Clock = new VirtualClock(time ?? TimeProvider.System);
        Bus = new ApicBus(vcpuCount, Clock);
    }

    public GuestMemory Memory { get; }

    public TrapDispatcher Dispatcher { get; }

    public CodePageTracker Code { get; }

    /// <summary>The VM's time base: the TSC and the APIC timers.</summary>
    public VirtualClock Clock { get; }

    /// <summary>The local APICs, the IOAPIC and the delivery between them.</summary>
    public ApicBus Bus { get; }

    /// <summary>Doorbells, matched by the vCPU before a write reaches the trap table.</summary>
    public DoorbellTable Doorbells { get; } = new();

    /// <summary>The local APIC of each vCPU, index = vCPU id = APIC ID.</summary>
    public IReadOnlyList<LocalApic> Apics => Bus.Apics;

    /// <summary>The userspace 8259 pair, once attached; its INTR reaches the vCPUs whose LINT0 is unmasked ExtINT.</summary>
    public IInterruptController? Controller
    {
        get => Volatile.Read(ref _controller);
        set => Volatile.Write(ref _controller, value);
    }
}
