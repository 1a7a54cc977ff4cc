using ActorVmm.Devices.Tests.Support;
using ActorVmm.Machine.Interrupts;

namespace ActorVmm.Devices.Tests;

/// <summary>Each device gets its own source on a GSI from its context; restarts take the same source over.</summary>
public sealed class DeviceContextInterruptTests
{
    private const int Gsis = 24;
    private const int SharedIrq = 4;
    private const string Com1 = "com1";
    private const string Com3 = "com3";

    private sealed class RecordingSink : IGsiSink
    {
        public List<(int Gsi, bool Level)> Changes { get; } = [];

        public void SetGsiLevel(int gsi, bool asserted) => Changes.Add((gsi, asserted));
    }

    private sealed class NoMailbox : IDeviceMailbox
    {
        public void Post(object message)
        {
        }
    }

    private sealed record RestoredState : DeviceState
    {
        public override void Validate()
        {
        }
    }

    private static DeviceContext Context(string device, GsiSourceTable table, DeviceState? restored = null) =>
        new(device, new DeviceEnvironment("vm", table.GetSource, TimeProvider.System, NullGuestOutput.Instance, new RecordingPowerRequests(), TestDeviceContext.NoDma), new NoMailbox(), new GuestInputQueue(), restored);

    [Fact]
    public void Two_devices_on_one_irq_drive_their_own_sources_so_one_deasserting_keeps_the_others_interrupt()
    {
        var sink = new RecordingSink();
        var table = new GsiSourceTable(Gsis, sink);
        var com1 = Context(Com1, table).GetInterruptLine(SharedIrq);
        var com3 = Context(Com3, table).GetInterruptLine(SharedIrq);

        com1.SetLevel(true);
        com3.SetLevel(true);
        com3.SetLevel(false);

        Assert.NotSame(com1, com3);
        Assert.Equal([Com1], table.AssertedOwners(SharedIrq));
        Assert.Equal([(SharedIrq, true)], sink.Changes);
    }

    [Fact]
    public void A_power_on_incarnation_takes_over_its_predecessors_source_deasserted()
    {
        var sink = new RecordingSink();
        var table = new GsiSourceTable(Gsis, sink);
        var failed = Context(Com1, table).GetInterruptLine(SharedIrq);
        failed.SetLevel(true);

        var fresh = Context(Com1, table).GetInterruptLine(SharedIrq);

        Assert.Same(failed, fresh);
        Assert.False(table.IsAsserted(SharedIrq));
        Assert.Equal([(SharedIrq, true), (SharedIrq, false)], sink.Changes);
    }

    [Fact]
    public void An_incarnation_rebuilt_from_state_keeps_the_level_its_predecessor_left()
    {
        var table = new GsiSourceTable(Gsis, new RecordingSink());
        Context(Com1, table).GetInterruptLine(SharedIrq).SetLevel(true);

        Context(Com1, table, new RestoredState()).GetInterruptLine(SharedIrq);

        Assert.True(table.IsAsserted(SharedIrq));
    }

    [Fact]
    public void Asking_again_for_a_line_does_not_drop_a_level_the_device_holds()
    {
        var table = new GsiSourceTable(Gsis, new RecordingSink());
        var context = Context(Com1, table);
        context.GetInterruptLine(SharedIrq).SetLevel(true);

        context.GetInterruptLine(SharedIrq);

        Assert.True(table.IsAsserted(SharedIrq));
    }
}
