using ActorVmm.Machine.Traps;

namespace ActorVmm.Kvm.Tests.Kvm;

/// <summary>One access a handler saw.</summary>
internal sealed record RecordedAccess(TrapBus Bus, ulong Address, TrapDirection Direction, int Size, ulong Value);

/// <summary>A trap table whose regions record every access and answer reads with a supplied function.</summary>
internal sealed class RecordingBus
{
    public RecordingBus()
    {
        Table = new TrapTable();
        Writer = Table.ClaimWriter();
        Dispatcher = new TrapDispatcher(Table);
    }

    public TrapTable Table { get; }

    public TrapTableWriter Writer { get; }

    public TrapDispatcher Dispatcher { get; }

    public List<RecordedAccess> Accesses { get; } = [];

    public RegionHandle Add(TrapBus bus, ulong baseAddress, ulong length, Func<ulong, ulong>? read = null, TrapFlags flags = TrapFlags.None) =>
        Writer.Register(bus, baseAddress, length, access =>
        {
            if (access.Direction == TrapDirection.Read && read is not null)
            {
                access.SetValue(read(access.Address));
            }

            lock (Accesses)
            {
                Accesses.Add(new RecordedAccess(access.Bus, access.Address, access.Direction, access.Data.Length, access.Value));
            }
        }, flags);
}
