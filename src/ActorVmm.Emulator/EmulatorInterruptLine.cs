using ActorVmm.Machine.Interrupts;

namespace ActorVmm.Emulator;

/// <summary>An IRQ line of an emulated VM: forwards levels to the attached userspace controller.</summary>
internal sealed class EmulatorInterruptLine : IInterruptLine
{
    private readonly EmulatorVm _vm;

    public EmulatorInterruptLine(EmulatorVm vm, int irq)
    {
        _vm = vm;
        Irq = irq;
    }

    /// <inheritdoc />
    public int Irq { get; }

    /// <inheritdoc />
    public void SetLevel(bool asserted) => _vm.SetIrqLevel(Irq, asserted);

    /// <inheritdoc />
    public void Pulse()
    {
        _vm.SetIrqLevel(Irq, true);
        _vm.SetIrqLevel(Irq, false);
    }
}
