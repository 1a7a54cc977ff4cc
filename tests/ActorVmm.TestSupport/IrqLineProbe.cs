using ActorVmm.Machine.Interrupts;

namespace ActorVmm.TestSupport;

/// <summary>An interrupt line that records what the device did to it.</summary>
public sealed class IrqLineProbe(int irq) : IInterruptLine
{
    public int Irq => irq;

    /// <summary>Current level (after a pulse it is low again).</summary>
    public bool Level { get; private set; }

    /// <summary>Number of low→high transitions, from SetLevel or Pulse.</summary>
    public int RisingEdges { get; private set; }

    public int Pulses { get; private set; }

    public void SetLevel(bool asserted)
    {
        if (asserted && !Level)
        {
            RisingEdges++;
        }

        Level = asserted;
    }

    public void Pulse()
    {
        Pulses++;
        SetLevel(true);
        SetLevel(false);
    }
}
