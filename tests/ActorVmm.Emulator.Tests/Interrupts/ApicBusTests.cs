using ActorVmm.Devices.IoApic;
using ActorVmm.Emulator.Apic;
using ActorVmm.Emulator.Time;
using ActorVmm.Machine.Interrupts;
using Microsoft.Extensions.Time.Testing;
using static ActorVmm.Machine.Interrupts.LocalApicRegisters;

namespace ActorVmm.Emulator.Tests.Interrupts;

/// <summary>IPIs through the ICR, INIT/SIPI/NMI, and the IOAPIC's messages and EOI broadcasts on the emulator's APIC bus.</summary>
public sealed class ApicBusTests
{
    private const int Cpus = 4;
    private const byte Vector = 0x61;
    private const byte StartPage = 0x9A;

    private readonly ApicBus _bus = new(Cpus, new VirtualClock(new FakeTimeProvider()));
    private readonly List<int> _woken = [];

    public ApicBusTests()
    {
        _bus.ConnectWake(_woken.Add);
        foreach (var apic in _bus.Apics)
        {
            apic.WriteRegister(SpuriousVector, SoftwareEnable | SpuriousVectorReset);
        }
    }

    private void SendIpi(int from, uint command, byte destination = 0)
    {
        _bus.Apics[from].WriteRegister(InterruptCommandHigh, (uint)destination << IdShift);
        _bus.Apics[from].WriteRegister(InterruptCommandLow, command);
    }

    private int[] Requested() => [.. _bus.Apics.Where(a => a.HasRequests).Select(a => a.Id)];

    [Fact]
    public void A_fixed_ipi_in_physical_mode_reaches_the_named_apic_and_wakes_it()
    {
        SendIpi(0, DeliveryModeFixed | IcrLevelAssert | Vector, destination: 2);

        Assert.Equal([2], Requested());
        Assert.Equal([2], _woken);
        Assert.True(_bus.Apics[2].TryAcknowledge(out byte vector));
        Assert.Equal(Vector, vector);
        Assert.Equal(0u, _bus.Apics[0].ReadRegister(InterruptCommandLow) & IcrDeliveryPending);
    }

    [Theory]
    [InlineData(IcrShorthandSelf, new[] { 1 })]
    [InlineData(IcrShorthandAll, new[] { 0, 1, 2, 3 })]
    [InlineData(IcrShorthandAllButSelf, new[] { 0, 2, 3 })]
    public void Destination_shorthands_select_self_all_or_all_but_self(uint shorthand, int[] expected)
    {
        SendIpi(1, shorthand | DeliveryModeFixed | IcrLevelAssert | Vector, destination: 3);

        Assert.Equal(expected, Requested());
    }

    [Fact]
    public void A_logical_flat_destination_reaches_every_apic_whose_ldr_shares_a_bit()
    {
        for (int id = 0; id < Cpus; id++)
        {
            _bus.Apics[id].WriteRegister(DestinationFormat, DestinationFormatFlat);
            _bus.Apics[id].WriteRegister(LogicalDestination, (1u << id) << IdShift);
        }

        SendIpi(0, IcrDestinationLogical | DeliveryModeFixed | IcrLevelAssert | Vector, destination: 0b1010);

        Assert.Equal([1, 3], Requested());
    }

    [Fact]
    public void A_lowest_priority_ipi_goes_to_the_lowest_addressed_apic_only()
    {
        SendIpi(3, IcrShorthandAllButSelf | DeliveryModeLowestPriority | IcrLevelAssert | Vector);

        Assert.Equal([0], Requested());
    }

    [Fact]
    public void Init_assert_and_startup_reach_the_target_as_events_and_init_deassert_is_ignored()
    {
        SendIpi(0, DeliveryModeInit | IcrLevelAssert | IcrTriggerLevel, destination: 1);
        SendIpi(0, DeliveryModeInit | IcrTriggerLevel, destination: 1);
        SendIpi(0, DeliveryModeStartUp | IcrLevelAssert | StartPage, destination: 1);

        var events = _bus.Apics[1].TakeEvents(out byte page);
        Assert.Equal(ApicEvents.Init | ApicEvents.StartUp, events);
        Assert.Equal(StartPage, page);
        Assert.All(new[] { 0, 2, 3 }, id => Assert.False(_bus.Apics[id].HasEvents));
        Assert.False(_bus.Apics[1].HasEvents);
    }

    [Fact]
    public void An_nmi_ipi_and_an_nmi_msi_are_held_as_events_regardless_of_the_vector()
    {
        SendIpi(0, DeliveryModeNmi | IcrLevelAssert, destination: 2);
        Assert.True(_bus.Deliver(new MsiMessage(MsiMessage.AddressBase | (3UL << MsiMessage.DestinationIdShift), (uint)MsiDeliveryMode.Nmi << MsiMessage.DeliveryModeShift)));

        Assert.Equal(ApicEvents.Nmi, _bus.Apics[2].TakeEvents(out _));
        Assert.Equal(ApicEvents.Nmi, _bus.Apics[3].TakeEvents(out _));
        Assert.Empty(Requested());
    }

    [Fact]
    public void An_ipi_to_an_apic_id_that_does_not_exist_is_dropped_and_counted()
    {
        SendIpi(0, DeliveryModeFixed | IcrLevelAssert | Vector, destination: Cpus + 1);

        Assert.Empty(Requested());
        Assert.Equal(1, _bus.DroppedMessages);
    }

    [Fact]
    public void A_level_triggered_ioapic_pin_is_delivered_once_until_the_eoi_and_again_after_it_while_asserted()
    {
        const int Pin = 18;
        ProgramPin(Pin, IoApicRegisters.TriggerLevel | IoApicRegisters.PolarityActiveLow | Vector, destination: 1);

        _bus.SetIoApicPin(Pin, asserted: true);
        Assert.Equal([1], Requested());
        Assert.True(_bus.Apics[1].TryAcknowledge(out _));
        Assert.NotEqual(0u, _bus.Apics[1].ReadRegister(TriggerMode + ((Vector / 32) * Stride)) & (1u << (Vector % 32)));
        _bus.SetIoApicPin(Pin, asserted: true);
        Assert.Empty(Requested());

        _bus.Apics[1].WriteRegister(EndOfInterrupt, 0); // still asserted: the EOI broadcast re-delivers
        Assert.Equal([1], Requested());
        Assert.True(_bus.Apics[1].TryAcknowledge(out _));
        _bus.SetIoApicPin(Pin, asserted: false);
        _bus.Apics[1].WriteRegister(EndOfInterrupt, 0);

        Assert.Empty(Requested());
        Assert.Equal(0UL, _bus.CaptureIoApic().Redirection[Pin] & IoApicRegisters.RemoteIrr);
    }

    [Fact]
    public void An_edge_triggered_ioapic_pin_in_logical_mode_reaches_its_logical_destination()
    {
        const int Pin = 4;
        _bus.Apics[2].WriteRegister(LogicalDestination, 0x04u << IdShift);
        ProgramPin(Pin, IoApicRegisters.DestinationLogical | Vector, destination: 0x04);

        _bus.SetIoApicPin(Pin, asserted: true);

        Assert.Equal([2], Requested());
        Assert.Equal(0u, _bus.Apics[2].ReadRegister(TriggerMode + ((Vector / 32) * Stride)));
    }

    private void ProgramPin(int pin, ulong entry, byte destination)
    {
        byte low = (byte)(IoApicRegisters.RedirectionBaseIndex + (2 * pin));
        _bus.WriteIoApic(IoApicRegisters.RegisterSelect, sizeof(uint), (ulong)low + 1);
        _bus.WriteIoApic(IoApicRegisters.Window, sizeof(uint), (ulong)destination << (IoApicRegisters.DestinationShift - 32));
        _bus.WriteIoApic(IoApicRegisters.RegisterSelect, sizeof(uint), low);
        _bus.WriteIoApic(IoApicRegisters.Window, sizeof(uint), entry);
    }
}
