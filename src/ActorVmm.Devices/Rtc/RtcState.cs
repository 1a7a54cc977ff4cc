using static ActorVmm.Devices.Rtc.Mc146818Rtc;

namespace ActorVmm.Devices.Rtc;

/// <summary>
/// The MC146818's guest-visible state. Time is kept against the injected clock: guest time is its UTC time plus
/// <see cref="ClockOffset"/>, and the next periodic, alarm and update-ended events follow from
/// <see cref="EventsProcessedUntil"/> and registers A and B, so a clock rebuilt on the same clock keeps counting and
/// interrupting where the old one stopped. The bus, base address and IRQ line are wiring, not state.
/// </summary>
/// <param name="Cmos">The 128 CMOS bytes: clock registers (as last frozen or written), registers A–D, RAM.</param>
/// <param name="Index">The CMOS byte the index port selects (0–127).</param>
/// <param name="NmiDisabled">Index port bit 7.</param>
/// <param name="ClockOffset">Guest time minus the injected clock's UTC time.</param>
/// <param name="EventsProcessedUntil">Guest time (in ticks) up to which periodic, alarm and update events were delivered.</param>
/// <param name="IrqAsserted">IRQ 8 level (register C's IRQF).</param>
public sealed record RtcState(
    StateArray<byte> Cmos,
    int Index,
    bool NmiDisabled,
    TimeSpan ClockOffset,
    long EventsProcessedUntil,
    bool IrqAsserted) : DeviceState
{
    private const byte RegisterCFlags = RegisterCIrqfBit | RegisterCPfBit | RegisterCAfBit | RegisterCUfBit;

    /// <inheritdoc />
    public override void Validate()
    {
        Require(Cmos.Length == CmosSize, $"CMOS holds {Cmos.Length} bytes, not {CmosSize}");
        Require((uint)Index <= IndexMask, $"index {Index} is outside 0..{IndexMask}");
        Require((Cmos[RegisterAIndex] & RegisterAUipBit) == 0, "register A stores UIP, which is only ever computed");
        Require((Cmos[RegisterCIndex] & ~RegisterCFlags) == 0, $"register C 0x{Cmos[RegisterCIndex]:X2} has bits 3–0 set");
        Require(((Cmos[RegisterCIndex] & RegisterCIrqfBit) != 0) == IrqAsserted, "register C's IRQF disagrees with the IRQ 8 level");
        Require(Cmos[RegisterDIndex] == RegisterDVrtBit, $"register D 0x{Cmos[RegisterDIndex]:X2} is not VRT alone");
        Require(
            ClockOffset.Ticks >= -DateTime.MaxValue.Ticks && ClockOffset.Ticks <= DateTime.MaxValue.Ticks,
            $"clock offset {ClockOffset} is wider than the calendar");
        Require(
            EventsProcessedUntil >= DateTime.MinValue.Ticks && EventsProcessedUntil <= DateTime.MaxValue.Ticks,
            $"event time {EventsProcessedUntil} is outside the calendar");
    }
}
