using ActorVmm.Machine.Interrupts;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ActorVmm.Machine.Tests.Interrupts;

public sealed class GsiSourceTableTests
{
    private const int Gsis = 24;
    private const int SharedGsi = 4;
    private const int OtherGsi = 3;
    private const string Com1 = "com1";
    private const string Com3 = "com3";

    private sealed class RecordingSink : IGsiSink
    {
        private readonly Lock _lock = new();

        public List<(int Gsi, bool Level)> Changes { get; } = [];

        public void SetGsiLevel(int gsi, bool asserted)
        {
            lock (_lock)
            {
                Changes.Add((gsi, asserted));
            }
        }
    }

    [Fact]
    public void A_level_shared_by_two_sources_stays_asserted_until_both_deassert()
    {
        var sink = new RecordingSink();
        var table = new GsiSourceTable(Gsis, sink);
        var com1 = table.GetSource(SharedGsi, Com1);
        var com3 = table.GetSource(SharedGsi, Com3);

        com1.SetLevel(true);
        com3.SetLevel(true);
        com1.SetLevel(false);

        Assert.True(table.IsAsserted(SharedGsi));
        Assert.Equal([Com3], table.AssertedOwners(SharedGsi));
        Assert.Equal([(SharedGsi, true)], sink.Changes);

        com3.SetLevel(false);

        Assert.False(table.IsAsserted(SharedGsi));
        Assert.Equal([(SharedGsi, true), (SharedGsi, false)], sink.Changes);
    }

    [Fact]
    public void The_same_owner_gets_the_same_source_back_and_other_owners_and_gsis_get_their_own()
    {
        var table = new GsiSourceTable(Gsis, new RecordingSink());

        var com1 = table.GetSource(SharedGsi, Com1);

        Assert.Same(com1, table.GetSource(SharedGsi, Com1));
        Assert.NotSame(com1, table.GetSource(SharedGsi, Com3));
        Assert.NotSame(com1, table.GetSource(OtherGsi, Com1));
        Assert.Equal(SharedGsi, com1.Irq);
    }

    [Fact]
    public void A_pulse_on_an_idle_gsi_is_one_edge_and_on_a_gsi_another_source_holds_high_it_is_none()
    {
        var sink = new RecordingSink();
        var table = new GsiSourceTable(Gsis, sink);
        var com1 = table.GetSource(SharedGsi, Com1);
        var com3 = table.GetSource(SharedGsi, Com3);

        com1.Pulse();
        Assert.Equal([(SharedGsi, true), (SharedGsi, false)], sink.Changes);

        com3.SetLevel(true);
        com1.Pulse();

        Assert.Equal([(SharedGsi, true), (SharedGsi, false), (SharedGsi, true)], sink.Changes);
        Assert.True(table.IsAsserted(SharedGsi));
    }

    [Fact]
    public void Repeating_a_level_changes_nothing()
    {
        var sink = new RecordingSink();
        var table = new GsiSourceTable(Gsis, sink);
        var com1 = table.GetSource(SharedGsi, Com1);

        com1.SetLevel(false);
        com1.SetLevel(true);
        com1.SetLevel(true);

        Assert.Equal([(SharedGsi, true)], sink.Changes);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(Gsis)]
    public void A_gsi_outside_the_table_is_refused(int gsi)
    {
        var table = new GsiSourceTable(Gsis, new RecordingSink());

        Assert.Throws<ArgumentOutOfRangeException>(() => table.GetSource(gsi, Com1));
        Assert.Throws<ArgumentOutOfRangeException>(() => table.IsAsserted(gsi));
    }

    [Fact]
    public void An_empty_owner_is_refused()
    {
        var table = new GsiSourceTable(Gsis, new RecordingSink());

        Assert.Throws<ArgumentException>(() => table.GetSource(SharedGsi, string.Empty));
    }

    [Property(MaxTest = 500)]
    public Property The_sink_follows_the_or_of_the_sources_and_never_repeats_a_level() =>
        Prop.ForAll(
            Arb.From(Gen.ListOf(Gen.Zip(Gen.Choose(0, 3), Gen.Elements(0, 1, 2))).Select(ops => ops.ToArray())),
            ops =>
            {
                var sink = new RecordingSink();
                var table = new GsiSourceTable(Gsis, sink);
                var sources = Enumerable.Range(0, 4).Select(i => table.GetSource(SharedGsi, $"source{i}")).ToArray();
                var levels = new bool[sources.Length];
                foreach (var (source, action) in ops)
                {
                    // 0: deassert, 1: assert, 2: pulse (ends low).
                    if (action == 2)
                    {
                        sources[source].Pulse();
                        levels[source] = false;
                    }
                    else
                    {
                        sources[source].SetLevel(action == 1);
                        levels[source] = action == 1;
                    }
                }

                bool or = levels.Any(l => l);
                bool lastSeen = sink.Changes.Count > 0 && sink.Changes[^1].Level;
                bool alternates = sink.Changes.Select((c, i) => c.Level == (i % 2 == 0)).All(x => x);
                return table.IsAsserted(SharedGsi) == or && lastSeen == or && alternates;
            });

    [Fact]
    public void Sources_toggled_from_many_threads_leave_the_gsi_deasserted_with_alternating_changes()
    {
        const int Threads = 8;
        const int Toggles = 2000;
        var sink = new RecordingSink();
        var table = new GsiSourceTable(Gsis, sink);

        Parallel.For(0, Threads, t =>
        {
            var source = table.GetSource(SharedGsi, $"device{t}");
            for (int i = 0; i < Toggles; i++)
            {
                source.SetLevel(true);
                source.SetLevel(false);
            }
        });

        Assert.False(table.IsAsserted(SharedGsi));
        Assert.NotEmpty(sink.Changes);
        Assert.All(sink.Changes.Select((c, i) => (c.Level, Expected: i % 2 == 0)), p => Assert.Equal(p.Expected, p.Level));
        Assert.False(sink.Changes[^1].Level);
    }
}
