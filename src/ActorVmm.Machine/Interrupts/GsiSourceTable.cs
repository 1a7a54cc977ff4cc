namespace ActorVmm.Machine.Interrupts;

/// <summary>
/// The wired-OR in front of a backend's interrupt controller. Several sources may drive one GSI
/// (PCI INTx lines are shared; COM1 and COM3 share IRQ 4): each owner gets its own source, the
/// GSI's level is the OR of its sources' levels, and the backend (<see cref="IGsiSink"/>) sees only
/// changes of that OR. So one source deasserting never drops another's level-triggered interrupt.
/// </summary>
/// <remarks>
/// Edges: <see cref="IInterruptLine.Pulse"/> drives the source high then low. On a line another
/// source already holds high that is no edge at all, as on a real wired-OR line, so the controller
/// sees nothing; devices that share a GSI should signal with levels. Whether the controller input
/// latches edges or follows levels is programmed by the guest (IOAPIC redirection entry, ELCR).
/// </remarks>
public sealed class GsiSourceTable
{
    /// <summary>The owner of the host's own source on each GSI (<see cref="Vcpu.IVirtualMachine.GetInterruptLine"/>).</summary>
    public const string HostOwner = "host";

    private readonly IGsiSink _sink;
    private readonly Gsi[] _gsis;

    /// <summary>Creates a table of <paramref name="gsiCount"/> GSIs numbered from 0.</summary>
    public GsiSourceTable(int gsiCount, IGsiSink sink)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(gsiCount);
        _sink = sink ?? throw new ArgumentNullException(nameof(sink));
        _gsis = new Gsi[gsiCount];
        for (int i = 0; i < gsiCount; i++)
        {
            _gsis[i] = new Gsi(i);
        }
    }

    /// <summary>Number of GSIs, numbered 0 to <see cref="GsiCount"/> − 1.</summary>
    public int GsiCount => _gsis.Length;

    /// <summary>
    /// The source <paramref name="owner"/> drives on <paramref name="gsi"/>. The same owner always gets
    /// the same source back, so a restarted device takes over its predecessor's level instead of
    /// leaving a second, stuck source behind.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="gsi"/> is not a GSI of this table.</exception>
    /// <exception cref="ArgumentException"><paramref name="owner"/> is empty.</exception>
    public IInterruptLine GetSource(int gsi, string owner)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        var line = Line(gsi);
        lock (line.Lock)
        {
            if (!line.Sources.TryGetValue(owner, out var source))
            {
                source = new Source(this, line, owner);
                line.Sources.Add(owner, source);
            }

            return source;
        }
    }

    /// <summary>The GSI's combined level: true while any of its sources is asserted.</summary>
    public bool IsAsserted(int gsi)
    {
        var line = Line(gsi);
        lock (line.Lock)
        {
            return line.AssertedSources > 0;
        }
    }

    /// <summary>The owners of the GSI's sources that are asserted now (diagnostics).</summary>
    public IReadOnlyList<string> AssertedOwners(int gsi)
    {
        var line = Line(gsi);
        lock (line.Lock)
        {
            return [.. line.Sources.Values.Where(s => s.Level).Select(s => s.Owner).Order(StringComparer.Ordinal)];
        }
    }

    private Gsi Line(int gsi)
    {
        if ((uint)gsi >= (uint)_gsis.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(gsi), gsi, $"GSIs are numbered 0..{_gsis.Length - 1}");
        }

        return _gsis[gsi];
    }

    // Called with the GSI's lock held, so the sink sees the OR's changes one at a time and in order.
    private void SetLocked(Gsi line, Source source, bool asserted)
    {
        if (source.Level == asserted)
        {
            return;
        }

        source.Level = asserted;
        if (asserted)
        {
            if (line.AssertedSources++ == 0)
            {
                _sink.SetGsiLevel(line.Number, true);
            }
        }
        else if (--line.AssertedSources == 0)
        {
            _sink.SetGsiLevel(line.Number, false);
        }
    }

    private sealed class Gsi(int number)
    {
        public readonly Lock Lock = new();
        public readonly Dictionary<string, Source> Sources = new(StringComparer.Ordinal);
        public readonly int Number = number;
        public int AssertedSources;
    }

    private sealed class Source(GsiSourceTable table, Gsi line, string owner) : IInterruptLine
    {
        public bool Level;

        public string Owner => owner;

        public int Irq => line.Number;

        public void SetLevel(bool asserted)
        {
            lock (line.Lock)
            {
                table.SetLocked(line, this, asserted);
            }
        }

        public void Pulse()
        {
            lock (line.Lock)
            {
                table.SetLocked(line, this, true);
                table.SetLocked(line, this, false);
            }
        }

        public override string ToString() => $"GSI {line.Number} source '{owner}'";
    }
}
