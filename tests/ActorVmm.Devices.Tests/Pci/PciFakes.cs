using ActorVmm.Devices.Pci;
using ActorVmm.Machine.Interrupts;

namespace ActorVmm.Devices.Tests.Pci;

/// <summary>Records every placement a BAR reports; <see cref="Current"/> is what a trap table would hold.</summary>
internal sealed class RecordingBarPlacement : IBarPlacement
{
    public List<PciBarPlacement> Calls { get; } = [];

    /// <summary>The last placement reported, or null before any.</summary>
    public PciBarPlacement? Current => Calls.Count == 0 ? null : Calls[^1];

    public void Place(ulong baseAddress, bool enabled) => Calls.Add(new PciBarPlacement(baseAddress, enabled));
}

/// <summary>One function's INTx input to a shared line: its level and how often it changed.</summary>
internal sealed class RecordingIntxSource(int irq, string owner) : IInterruptLine
{
    public int Irq => irq;

    public string Owner => owner;

    public int Pulses { get; private set; }

    public void Pulse() => Pulses++;

    public bool Level { get; private set; }

    public int Changes { get; private set; }

    public void SetLevel(bool asserted)
    {
        Changes++;
        Level = asserted;
    }
}

/// <summary>An MSI vector that records its route updates and the messages it delivered.</summary>
internal sealed class RecordingMsiVector : IMsiVector
{
    public ulong Address { get; private set; }

    public uint Data { get; private set; }

    public int Updates { get; private set; }

    public List<(ulong Address, uint Data)> Delivered { get; } = [];

    public void Update(ulong address, uint data)
    {
        Updates++;
        Address = address;
        Data = data;
    }

    public void Trigger() => Delivered.Add((Address, Data));

    /// <summary>Every mask state the table told the vector, in order.</summary>
    public List<bool> MaskChanges { get; } = [];

    public void SetMasked(bool masked) => MaskChanges.Add(masked);
}

/// <summary>The platform side of INTx: every source connected, by IRQ.</summary>
internal sealed class RecordingIntxLines
{
    public List<RecordingIntxSource> Sources { get; } = [];

    public IInterruptLine Connect(int irq, string owner)
    {
        var source = new RecordingIntxSource(irq, owner);
        Sources.Add(source);
        return source;
    }

    /// <summary>The OR of all sources on <paramref name="irq"/>, as a shared level line is.</summary>
    public bool Level(int irq) => Sources.Any(s => s.Irq == irq && s.Level);
}
