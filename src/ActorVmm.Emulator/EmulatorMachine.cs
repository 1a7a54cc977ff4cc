using ActorVmm.Emulator.Cpu;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Emulator;

/// <summary>What every emulated vCPU of one VM shares: RAM, the trap dispatcher, the code-page tracker and the interrupt controller.</summary>
internal sealed class EmulatorMachine
{
    private IInterruptController? _controller;

    public EmulatorMachine(GuestMemory memory, TrapDispatcher dispatcher)
    {
        Memory = memory;
        Dispatcher = dispatcher;
        Code = new CodePageTracker(memory);
    }

    public GuestMemory Memory { get; }

    public TrapDispatcher Dispatcher { get; }

    public CodePageTracker Code { get; }

    /// <summary>The userspace 8259 pair, once attached; only the boot vCPU takes its interrupts.</summary>
    public IInterruptController? Controller
    {
        get => Volatile.Read(ref _controller);
        set => Volatile.Write(ref _controller, value);
    }
}
