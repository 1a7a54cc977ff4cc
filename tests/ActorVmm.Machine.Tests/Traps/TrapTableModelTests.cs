using ActorVmm.Machine.Traps;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ActorVmm.Machine.Tests.Traps;

/// <summary>
/// Random register / unregister / BAR move / enable / disable / place / checked move / lookup sequences
/// against a simple model of the PCI decode rules, checked after every step: the same regions in the
/// same states, the published snapshot holding exactly the decoding ones, every probed address decoding
/// to at most one region (the one the model names), and no region left shadowed without a conflict.
/// </summary>
public sealed class TrapTableModelTests
{
    // Addresses cluster in a small window (many overlaps) plus the edges of each bus (overflow, port limit).
    private static readonly Gen<ulong> Address = Gen.Frequency(
        (6, Gen.Choose(0, 0x60).Select(x => (ulong)x)),
        (1, Gen.Choose(0, 0x20).Select(x => TrapTable.MaxPort - (ulong)x)),
        (1, Gen.Choose(0, 0x20).Select(x => ulong.MaxValue - (ulong)x)));

    private static readonly Gen<ulong> Length = Gen.OneOf(
        Gen.Choose(0, 0x18).Select(x => (ulong)x),
        Gen.Constant(ulong.MaxValue),
        Gen.Constant(0x1_0000UL));

    private static readonly Gen<TrapBus> Bus = Gen.Elements(TrapBus.Pio, TrapBus.Mmio);

    private static readonly Gen<bool> Enabled = Gen.Frequency((3, Gen.Constant(true)), (1, Gen.Constant(false)));

    // Weighted towards BAR moves and enables, which is where shadowing and its lifting happen.
    private static readonly Gen<Op> Operation = Gen.Frequency(
        (3, from bus in Bus from a in Address from l in Length from e in Enabled select (Op)new RegisterOp(bus, a, l, e)),
        (1, from i in Gen.Choose(0, 7) select (Op)new UnregisterOp(i)),
        (2, from i in Gen.Choose(0, 7) from a in Address select (Op)new MoveOp(i, a)),
        (2, from i in Gen.Choose(0, 7) from e in Enabled select (Op)new SetEnabledOp(i, e)),
        (2, from i in Gen.Choose(0, 7) from a in Address from e in Enabled select (Op)new PlaceOp(i, a, e)),
        (1, from i in Gen.Choose(0, 7) from a in Address select (Op)new CheckedMoveOp(i, a)),
        (1, from bus in Bus from a in Address from l in Gen.Elements(1, 2, 4, 8) select (Op)new LookupOp(bus, a, l)));

    // Every address any generated region can touch near the edges, plus the window and its surroundings.
    private static readonly ulong[] Probes =
    [
        .. Enumerable.Range(0, 0x80).Select(x => (ulong)x),
        .. Enumerable.Range(0, 0x40).Select(x => TrapTable.MaxPort - 0x30 + (ulong)x),
        .. Enumerable.Range(0, 0x40).Select(x => ulong.MaxValue - (ulong)x),
    ];

    [Property(MaxTest = 1000)]
    public Property Random_operations_agree_with_the_decode_model_after_every_step() =>
        Prop.ForAll(Arb.From(Gen.ListOf(Operation).Select(ops => ops.ToArray())), ops => Run(ops) is not { } error ? true : throw new InvalidOperationException(error));

    private static string? Run(Op[] ops)
    {
        var table = new TrapTable();
        var writer = table.ClaimWriter();
        var model = new Model();
        var handles = new List<RegionHandle>();
        var controls = new Dictionary<RegionHandle, RegionControl>();
        for (int step = 0; step < ops.Length; step++)
        {
            var op = ops[step];
            string? error = Apply(op, table, writer, model, handles, controls) ?? Compare(table, model);
            if (error is not null)
            {
                return $"step {step} {op}: {error}";
            }
        }

        return null;
    }

    private static string? Apply(Op op, TrapTable table, TrapTableWriter writer, Model model, List<RegionHandle> handles, Dictionary<RegionHandle, RegionControl> controls)
    {
        RegionHandle Pick(int index) => handles[index % handles.Count];
        switch (op)
        {
            case RegisterOp r:
            {
                bool modelAccepts = model.Register(r.Bus, r.Base, r.Length, r.Enabled, out var accepted);
                try
                {
                    var h = writer.Register(r.Bus, r.Base, r.Length, _ => { }, enabled: r.Enabled);
                    if (!modelAccepts)
                    {
                        return "the table accepted a registration the model rejects";
                    }

                    accepted!.Handle = h;
                    handles.Add(h);
                    controls.Add(h, writer.Control(h));
                }
                catch (TrapRegistrationException)
                {
                    if (modelAccepts)
                    {
                        return "the table rejected a registration the model accepts";
                    }
                }

                return null;
            }

            case UnregisterOp u when handles.Count > 0:
            {
                var h = Pick(u.Index);
                return writer.Unregister(h) == model.Unregister(h) ? null : "unregister results differ";
            }

            case MoveOp m when handles.Count > 0:
            {
                var h = Pick(m.Index);
                controls[h].Move(m.NewBase);
                model.Place(h, m.NewBase, enabled: null);
                return null;
            }

            case SetEnabledOp e when handles.Count > 0:
            {
                var h = Pick(e.Index);
                controls[h].SetEnabled(e.Enabled);
                model.Place(h, newBase: null, e.Enabled);
                return null;
            }

            case PlaceOp p when handles.Count > 0:
            {
                var h = Pick(p.Index);
                controls[h].Place(p.NewBase, p.Enabled);
                model.Place(h, p.NewBase, p.Enabled);
                return null;
            }

            case CheckedMoveOp c when handles.Count > 0:
            {
                var h = Pick(c.Index);
                var expected = model.CheckedMove(h, c.NewBase);
                string actual;
                try
                {
                    writer.Move(h, c.NewBase);
                    actual = "moved";
                }
                catch (TrapRegistrationException)
                {
                    actual = "rejected";
                }
                catch (KeyNotFoundException)
                {
                    actual = "unknown";
                }

                return actual == expected ? null : $"checked move: table {actual}, model {expected}";
            }

            case LookupOp l:
            {
                var expected = model.Decoding(l.Bus).SingleOrDefault(m => m.Holds(l.Address, (ulong)l.Length));
                var actual = table.Lookup(l.Bus, l.Address, l.Length);
                return actual?.Handle == expected?.Handle ? null : $"lookup found {actual?.Handle} instead of {expected?.Handle}";
            }

            default:
                return null;
        }
    }

    private static string? Compare(TrapTable table, Model model)
    {
        foreach (var bus in Enum.GetValues<TrapBus>())
        {
            var expected = model.Regions.Where(m => m.Bus == bus).OrderBy(m => m.Base).ThenBy(m => m.Handle.Id).Select(m => (m.Handle, m.Base, m.Enabled, m.Decoding));
            var actual = table.Regions(bus).Select(r => (r.Handle, r.Base, r.IsEnabled, r.IsDecoding));
            if (!actual.SequenceEqual(expected))
            {
                return $"{bus} regions: table [{string.Join(", ", actual)}], model [{string.Join(", ", expected)}]";
            }

            var decoding = model.Decoding(bus).ToList();
            if (!table.Snapshot(bus).Regions.ToArray().Select(r => r.Handle.Id).Order().SequenceEqual(decoding.Select(m => m.Handle.Id).Order()))
            {
                return $"{bus} snapshot does not hold exactly the decoding regions";
            }

            // Rule checks that do not depend on how the model orders its decisions.
            if (decoding.Any(m => !m.Enabled || !Model.Valid(bus, m.Base, m.Length)))
            {
                return $"{bus}: a disabled or invalid region decodes";
            }

            if (model.Regions.FirstOrDefault(m => m.Bus == bus && m.Enabled && !m.Decoding && Model.Valid(bus, m.Base, m.Length) && !decoding.Any(d => d.Overlaps(m))) is { } idle)
            {
                return $"{bus}: {idle.Handle} stays shadowed with nothing decoding in its range";
            }

            foreach (ulong address in Probes)
            {
                ModelRegion? owner = null;
                foreach (var region in decoding)
                {
                    if (region.Holds(address, 1))
                    {
                        if (owner is not null)
                        {
                            return $"{bus} 0x{address:X} decodes to both {owner.Handle} and {region.Handle}";
                        }

                        owner = region;
                    }
                }

                if (table.Lookup(bus, address, 1)?.Handle != owner?.Handle)
                {
                    return $"{bus} 0x{address:X}: table and model disagree on the decoder";
                }
            }
        }

        return null;
    }

    /// <summary>The decode rules, written plainly: scans over a list, 128-bit arithmetic for ends.</summary>
    private sealed class Model
    {
        private long _clock;

        public List<ModelRegion> Regions { get; } = [];

        public static bool Valid(TrapBus bus, ulong start, ulong length)
        {
            var last = (UInt128)start + length - 1;
            return length > 0 && last <= ulong.MaxValue && (bus != TrapBus.Pio || last <= TrapTable.MaxPort);
        }

        public IEnumerable<ModelRegion> Decoding(TrapBus bus) => Regions.Where(m => m.Bus == bus && m.Decoding);

        public bool Register(TrapBus bus, ulong start, ulong length, bool enabled, out ModelRegion? added)
        {
            added = null;
            var candidate = new ModelRegion { Bus = bus, Base = start, Length = length, Enabled = enabled };
            if (!Valid(bus, start, length) || (enabled && Decoding(bus).Any(d => d.Overlaps(candidate))))
            {
                return false;
            }

            candidate.Decoding = enabled;
            candidate.PlacedAt = enabled ? ++_clock : 0;
            Regions.Add(candidate);
            added = candidate;
            return true;
        }

        public bool Unregister(RegionHandle handle)
        {
            var region = Regions.FirstOrDefault(m => m.Handle == handle);
            if (region is null)
            {
                return false;
            }

            Regions.Remove(region);
            if (region.Decoding)
            {
                Promote(region.Bus);
            }

            return true;
        }

        public string CheckedMove(RegionHandle handle, ulong newBase)
        {
            var region = Regions.FirstOrDefault(m => m.Handle == handle);
            if (region is null)
            {
                return "unknown";
            }

            var moved = new ModelRegion { Bus = region.Bus, Base = newBase, Length = region.Length };
            if (!Valid(region.Bus, newBase, region.Length) || (region.Enabled && Decoding(region.Bus).Any(d => d != region && d.Overlaps(moved))))
            {
                return "rejected";
            }

            Place(handle, newBase, enabled: null);
            return "moved";
        }

        public void Place(RegionHandle handle, ulong? newBase, bool? enabled)
        {
            var region = Regions.FirstOrDefault(m => m.Handle == handle);
            if (region is null || (region.Base == (newBase ?? region.Base) && region.Enabled == (enabled ?? region.Enabled)))
            {
                return;
            }

            bool wasDecoding = region.Decoding;
            region.Base = newBase ?? region.Base;
            region.Enabled = enabled ?? region.Enabled;
            region.Decoding = false;
            if (region.Enabled)
            {
                region.PlacedAt = ++_clock;
            }

            region.Decoding = region.Enabled && Valid(region.Bus, region.Base, region.Length) && !Decoding(region.Bus).Any(d => d.Overlaps(region));
            if (wasDecoding)
            {
                Promote(region.Bus);
            }
        }

        private void Promote(TrapBus bus)
        {
            foreach (var waiting in Regions.Where(m => m.Bus == bus && m.Enabled && !m.Decoding && Valid(bus, m.Base, m.Length)).OrderBy(m => m.PlacedAt).ToList())
            {
                waiting.Decoding = !Decoding(bus).Any(d => d.Overlaps(waiting));
            }
        }
    }

    private sealed class ModelRegion
    {
        public RegionHandle Handle { get; set; }

        public TrapBus Bus { get; init; }

        public ulong Base { get; set; }

        public ulong Length { get; init; }

        public bool Enabled { get; set; }

        public bool Decoding { get; set; }

        public long PlacedAt { get; set; }

        private UInt128 End => (UInt128)Base + Length;

        public bool Overlaps(ModelRegion other) => Base < other.End && other.Base < End;

        public bool Holds(ulong address, ulong length) => address >= Base && (UInt128)address + length <= End;
    }

    private abstract record Op;

    private sealed record RegisterOp(TrapBus Bus, ulong Base, ulong Length, bool Enabled) : Op;

    private sealed record UnregisterOp(int Index) : Op;

    private sealed record MoveOp(int Index, ulong NewBase) : Op;

    private sealed record SetEnabledOp(int Index, bool Enabled) : Op;

    private sealed record PlaceOp(int Index, ulong NewBase, bool Enabled) : Op;

    private sealed record CheckedMoveOp(int Index, ulong NewBase) : Op;

    private sealed record LookupOp(TrapBus Bus, ulong Address, int Length) : Op;
}
