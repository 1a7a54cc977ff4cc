namespace ActorVmm.Devices.IoApic;

/// <summary>The I/O APIC's guest-visible state: the ID, IOREGSEL, the 24 redirection entries (remote IRR included) and each input pin's level.</summary>
/// <param name="Id">IOAPICID (the ID in bits 24–27).</param>
/// <param name="RegisterSelect">IOREGSEL: the indirect register IOWIN accesses.</param>
/// <param name="Redirection">The redirection entries, pin 0 first.</param>
/// <param name="PinLevels">Each input's current (logical) level: edge detection and level re-delivery compare against it.</param>
public sealed record IoApicState(uint Id, byte RegisterSelect, StateArray<ulong> Redirection, StateArray<bool> PinLevels) : DeviceState
{
    /// <summary>The state after reset: ID 0, every pin masked and low.</summary>
    public static IoApicState PowerOn { get; } = new(
        0,
        0,
        StateArray.Create<ulong>([.. Enumerable.Repeat(IoApicRegisters.EntryReset, IoApicRegisters.PinCount)]),
        StateArray.Create<bool>(new bool[IoApicRegisters.PinCount]));

    /// <inheritdoc />
    public override void Validate()
    {
        Require((Id & ~IoApicRegisters.IdMask) == 0, $"ID register 0x{Id:X8} has bits outside the ID field");
        Require(Redirection.Length == IoApicRegisters.PinCount, $"{Redirection.Length} redirection entries, expected {IoApicRegisters.PinCount}");
        Require(PinLevels.Length == IoApicRegisters.PinCount, $"{PinLevels.Length} pin levels, expected {IoApicRegisters.PinCount}");
        for (int pin = 0; pin < Redirection.Length; pin++)
        {
            ulong entry = Redirection[pin];
            Require((entry & ~(IoApicRegisters.WritableMask | IoApicRegisters.RemoteIrr)) == 0, $"redirection entry {pin} 0x{entry:X16} has reserved or delivery-status bits set");
            Require((entry & IoApicRegisters.RemoteIrr) == 0 || (entry & IoApicRegisters.TriggerLevel) != 0, $"redirection entry {pin} has remote IRR set although it is edge-triggered");
        }
    }
}
