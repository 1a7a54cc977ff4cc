using ActorVmm.Machine.Traps;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ActorVmm.Machine.Tests.Traps;

/// <summary>Random register/unregister/move/lookup sequences agree with a list scanned linearly.</summary>
public sealed class TrapTableModelTests
{
    // Addresses cluster in a small window (many overlaps) plus the edges of each bus (overflow, port limit).
    private static readonly Gen<ulong> Address = Gen.OneOf(
        Gen.Choose(0, 0x60).Select(x => (ulong)x),
        Gen.Choose(0, 0x20).Select(x => TrapTable.MaxPort - (ulong)x),
        Gen.Choose(0, 0x20).Select(x => ulong.MaxValue - (ulong)x));

    private static readonly Gen<ulong> Length = Gen.OneOf(
        Gen.Choose(0, 0x18).Select(x => (ulong)x),
        Gen.Constant(ulong.MaxValue),
        Gen.Constant(0x1_0000UL));

    private static readonly Gen<TrapBus> Bus = Gen.Elements(TrapBus.Pio, TrapBus.Mmio);

    private static readonly Gen<Op> Operation = Gen.OneOf(
        from bus in Bus from a in Address from l in Length select (Op)new RegisterOp(bus, a, l),
        from i in Gen.Choose(0, 7) select (Op)new UnregisterOp(i),
        from i in Gen.Choose(0, 7) from a in Address select (Op)new MoveOp(i, a),
        from bus in Bus from a in Address from l in Gen.Elements(1, 2, 4, 8) select (Op)new LookupOp(bus, a, l));

    [Property(MaxTest = 1000)]
    public Property Random_operations_agree_with_a_linear_reference_model() =>
        Prop.ForAll(Arb.From(Gen.ListOf(Operation).Select(ops => ops.ToArray())), ops => Run(ops));

    private static bool Run(Op[] ops)
    {
        var table = new TrapTable();
        var model = new List<ModelRegion>();
        var handles = new List<RegionHandle>();
        foreach (var op in ops)
        {
            switch (op)
            {
                case RegisterOp r:
                {
                    bool modelAccepts = Acceptable(model, r.Bus, r.Base, r.Length, ignore: default);
                    try
                    {
                        var h = table.Register(r.Bus, r.Base, r.Length, _ => { });
                        if (!modelAccepts)
                        {
                            return false;
                        }

                        model.Add(new ModelRegion(h, r.Bus, r.Base, r.Length));
                        handles.Add(h);
                    }
                    catch (TrapRegistrationException)
                    {
                        if (modelAccepts)
                        {
                            return false;
                        }
                    }

                    break;
                }

                case UnregisterOp u when handles.Count > 0:
                {
                    var h = handles[u.Index % handles.Count];
                    bool present = model.RemoveAll(m => m.Handle == h) > 0;
                    if (table.Unregister(h) != present)
                    {
                        return false;
                    }

                    break;
                }

                case MoveOp m when handles.Count > 0:
                {
                    var h = handles[m.Index % handles.Count];
                    int at = model.FindIndex(x => x.Handle == h);
                    if (at < 0)
                    {
                        if (!Throws<KeyNotFoundException>(() => table.Move(h, m.NewBase)))
                        {
                            return false;
                        }

                        break;
                    }

                    var current = model[at];
                    bool modelAccepts = Acceptable(model, current.Bus, m.NewBase, current.Length, ignore: h);
                    bool tableAccepts = !Throws<TrapRegistrationException>(() => table.Move(h, m.NewBase));
                    if (modelAccepts != tableAccepts)
                    {
                        return false;
                    }

                    if (modelAccepts)
                    {
                        model[at] = current with { Base = m.NewBase };
                    }

                    break;
                }

                case LookupOp l:
                {
                    var expected = model.SingleOrDefault(x => x.Bus == l.Bus && Contains(x, l.Address, l.Length));
                    if (table.Lookup(l.Bus, l.Address, l.Length)?.Handle != expected?.Handle)
                    {
                        return false;
                    }

                    break;
                }
            }
        }

        // The published snapshots hold exactly the model, sorted.
        return Enum.GetValues<TrapBus>().All(bus =>
            table.Regions(bus).Select(r => (r.Handle, r.Base, r.Length))
                .SequenceEqual(model.Where(m => m.Bus == bus).OrderBy(m => m.Base).Select(m => (m.Handle, m.Base, m.Length))));
    }

    private static bool Acceptable(List<ModelRegion> model, TrapBus bus, ulong start, ulong length, RegionHandle ignore)
    {
        if (length == 0)
        {
            return false;
        }

        var last = (UInt128)start + length - 1;
        if (last > ulong.MaxValue || (bus == TrapBus.Pio && last > TrapTable.MaxPort))
        {
            return false;
        }

        return !model.Any(m => m.Bus == bus && m.Handle != ignore && m.Base <= last && start <= (UInt128)m.Base + m.Length - 1);
    }

    private static bool Contains(ModelRegion region, ulong address, int length) =>
        address >= region.Base && (UInt128)address + (ulong)length <= (UInt128)region.Base + region.Length;

    private static bool Throws<T>(Action action)
        where T : Exception
    {
        try
        {
            action();
            return false;
        }
        catch (T)
        {
            return true;
        }
    }

    private abstract record Op;

    private sealed record RegisterOp(TrapBus Bus, ulong Base, ulong Length) : Op;

    private sealed record UnregisterOp(int Index) : Op;

    private sealed record MoveOp(int Index, ulong NewBase) : Op;

    private sealed record LookupOp(TrapBus Bus, ulong Address, int Length) : Op;

    private sealed record ModelRegion(RegionHandle Handle, TrapBus Bus, ulong Base, ulong Length);
}
