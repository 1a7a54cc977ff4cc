using ActorVmm.Devices.IoApic;
using ActorVmm.Machine.Interrupts;
using FsCheck;
using FsCheck.Xunit;
using static ActorVmm.Devices.IoApic.IoApicRegisters;

namespace ActorVmm.Devices.Tests.IoApic;

public sealed class IoApicTests
{
    private const byte Vector = 0x33;
    private const byte Destination = 0x02;

    private readonly List<MsiMessage> _sent = [];
    private bool _accept = true;

    private ActorVmm.Devices.IoApic.IoApic Create(IoApicState? state = null) => new(m =>
    {
        _sent.Add(m);
        return _accept;
    }, state);

    private static uint ReadIndirect(ActorVmm.Devices.IoApic.IoApic chip, byte index)
    {
        chip.Write(RegisterSelect, sizeof(uint), index);
        return (uint)chip.Read(Window, sizeof(uint));
    }

    private static void WriteIndirect(ActorVmm.Devices.IoApic.IoApic chip, byte index, uint value)
    {
        chip.Write(RegisterSelect, sizeof(uint), index);
        chip.Write(Window, sizeof(uint), value);
    }

    private static void Program(ActorVmm.Devices.IoApic.IoApic chip, int pin, ulong entry)
    {
        byte low = (byte)(RedirectionBaseIndex + (2 * pin));
        WriteIndirect(chip, (byte)(low + 1), (uint)(entry >> 32));
        WriteIndirect(chip, low, (uint)entry);
    }

    private static ulong Entry(ulong flags) => flags | Vector | ((ulong)Destination << DestinationShift);

    [Fact]
    public void Version_reports_24_entries_and_every_pin_starts_masked()
    {
        var chip = Create();

        Assert.Equal(VersionValue, ReadIndirect(chip, VersionIndex));
        Assert.Equal((uint)(PinCount - 1), (ReadIndirect(chip, VersionIndex) >> 16) & 0xFF);
        for (int pin = 0; pin < PinCount; pin++)
        {
            Assert.Equal((uint)EntryReset, ReadIndirect(chip, (byte)(RedirectionBaseIndex + (2 * pin))));
        }
    }

    [Fact]
    public void The_id_keeps_only_its_field_and_arbitration_reads_it_back()
    {
        var chip = Create();

        WriteIndirect(chip, IdIndex, 0xFFFF_FFFF);

        Assert.Equal(IdMask, ReadIndirect(chip, IdIndex));
        Assert.Equal(IdMask, ReadIndirect(chip, ArbitrationIndex));
    }

    [Fact]
    public void A_redirection_entry_reads_back_without_the_read_only_bits_it_was_written_with()
    {
        var chip = Create();
        ulong entry = Entry(TriggerLevel | DestinationLogical | RemoteIrr | DeliveryPending);

        Program(chip, 7, entry);

        ulong read = ReadIndirect(chip, RedirectionBaseIndex + 14) | ((ulong)ReadIndirect(chip, RedirectionBaseIndex + 15) << 32);
        Assert.Equal(entry & WritableMask, read);
    }

    [Fact]
    public void An_edge_pin_sends_its_message_on_each_rising_edge_and_loses_edges_while_masked()
    {
        var chip = Create();
        Program(chip, 1, Entry(0));

        chip.SetPinLevel(1, true);
        chip.SetPinLevel(1, true);
        chip.SetPinLevel(1, false);
        Program(chip, 1, Entry(Masked));
        chip.SetPinLevel(1, true);
        chip.SetPinLevel(1, false);
        Program(chip, 1, Entry(0));

        var message = Assert.Single(_sent);
        Assert.Equal(Vector, message.Vector);
        Assert.Equal(Destination, message.DestinationId);
        Assert.False(message.IsLevelTriggered);
        Assert.False(message.IsLogicalDestination);
        Assert.Equal(MsiDeliveryMode.Fixed, message.DeliveryMode);
    }

    [Fact]
    public void A_level_pin_sends_once_until_the_eoi_of_its_vector_and_again_after_it_while_asserted()
    {
        var chip = Create();
        Program(chip, 17, Entry(TriggerLevel | PolarityActiveLow));

        chip.SetPinLevel(17, true);
        chip.EndOfInterrupt(Vector + 1);
        Assert.Single(_sent);
        Assert.True(_sent[0].IsLevelTriggered);
        Assert.NotEqual(0UL, chip.CaptureState().Redirection[17] & RemoteIrr);

        chip.EndOfInterrupt(Vector);
        Assert.Equal(2, _sent.Count);

        chip.SetPinLevel(17, false);
        chip.EndOfInterrupt(Vector);
        Assert.Equal(2, _sent.Count);
        Assert.Equal(0UL, chip.CaptureState().Redirection[17] & RemoteIrr);
    }

    [Fact]
    public void Unmasking_an_asserted_level_pin_sends_at_once()
    {
        var chip = Create();
        Program(chip, 20, Entry(TriggerLevel | Masked));
        chip.SetPinLevel(20, true);
        Assert.Empty(_sent);

        Program(chip, 20, Entry(TriggerLevel));

        Assert.Single(_sent);
    }

    [Fact]
    public void A_message_no_apic_takes_leaves_remote_irr_clear_and_is_counted()
    {
        var chip = Create();
        _accept = false;
        Program(chip, 16, Entry(TriggerLevel));

        chip.SetPinLevel(16, true);

        Assert.Equal(0UL, chip.CaptureState().Redirection[16] & RemoteIrr);
        Assert.Equal(1, chip.UndeliveredMessages);
    }

    [Fact]
    public void Pins_outside_the_chip_and_other_offsets_are_ignored()
    {
        var chip = Create();

        chip.SetPinLevel(PinCount, true);
        chip.SetPinLevel(-1, true);
        chip.Write(0x20, sizeof(uint), 0xFFFF_FFFF);

        Assert.Equal(0UL, chip.Read(0x20, sizeof(uint)));
        Assert.Equal(IoApicState.PowerOn, chip.CaptureState());
    }

    [Fact]
    public void A_state_with_a_wrong_entry_count_reserved_bits_or_edge_remote_irr_is_refused()
    {
        var good = IoApicState.PowerOn;

        Assert.Throws<DeviceStateException>(() => Create(good with { Redirection = StateArray.Create<ulong>([EntryReset]) }));
        Assert.Throws<DeviceStateException>(() => Create(good with { Redirection = good.Redirection.SetItem(3, EntryReset | (1UL << 40)) }));
        Assert.Throws<DeviceStateException>(() => Create(good with { Redirection = good.Redirection.SetItem(3, RemoteIrr) }));
        Assert.Throws<DeviceStateException>(() => Create(good with { Id = 1 }));
        Assert.Throws<DeviceStateException>(() => Create(good with { PinLevels = StateArray.Create<bool>([true]) }));
    }

    /// <summary>Random register traffic, pin changes and EOIs; a twin rebuilt from the captured state behaves identically afterwards.</summary>
    [Property(MaxTest = 100)]
    public void A_chip_rebuilt_from_its_captured_state_sends_and_reads_what_the_original_does(int[] before, int[] after)
    {
        var first = new List<MsiMessage>();
        var original = new ActorVmm.Devices.IoApic.IoApic(m => { first.Add(m); return true; });
        foreach (int step in before ?? [])
        {
            Apply(original, step);
        }

        var twinSent = new List<MsiMessage>();
        var twin = new ActorVmm.Devices.IoApic.IoApic(m => { twinSent.Add(m); return true; }, original.CaptureState());
        first.Clear();
        var reads = new List<ulong>();
        var twinReads = new List<ulong>();
        foreach (int step in after ?? [])
        {
            reads.Add(Apply(original, step));
            twinReads.Add(Apply(twin, step));
        }

        Assert.Equal(reads, twinReads);
        Assert.Equal(first, twinSent);
        Assert.Equal(original.CaptureState(), twin.CaptureState());
    }

    // One step from a random int: which kind in the low 2 bits, the rest picks pins, indices and values.
    private static ulong Apply(ActorVmm.Devices.IoApic.IoApic chip, int step)
    {
        uint n = (uint)step >> 2;
        switch (step & 3)
        {
            case 0:
                chip.Write(RegisterSelect, sizeof(uint), RedirectionBaseIndex + (n % (2 * PinCount)));
                return chip.Read(Window, sizeof(uint));
            case 1:
                chip.Write(RegisterSelect, sizeof(uint), RedirectionBaseIndex + (n % (2 * PinCount)));
                chip.Write(Window, sizeof(uint), (n * 2654435761u) & ~(uint)Masked | (n % 3 == 0 ? (uint)Masked : 0));
                return 0;
            case 2:
                chip.SetPinLevel((int)(n % PinCount), (n & 0x100) != 0);
                return 0;
            default:
                chip.EndOfInterrupt((byte)n);
                return chip.Read(RegisterSelect, sizeof(uint));
        }
    }
}
