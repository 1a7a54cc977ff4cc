using ActorVmm.Devices.Rtc;
using ActorVmm.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace ActorVmm.Devices.Tests.Rtc;

/// <summary>An RTC at the PC ports on a fake clock, driven through the trap bus.</summary>
public abstract class RtcTestBase
{
    protected const ushort IndexPort = 0x70;
    protected const ushort DataPort = 0x71;

    // Wednesday 2026-11-25 14:37:52.500 UTC.
    protected const int Year = 2026;
    protected const int Month = 11;
    protected const int Day = 25;
    protected const int Hour = 14;
    protected const int Minute = 37;
    protected const int Second = 52;
    protected const int HalfSecondMs = 500;
    protected const int Wednesday = 4; // 1 = Sunday

    protected RtcTestBase(CmosMemorySize? memory = null)
    {
        Time = new FakeTimeProvider(new DateTimeOffset(Year, Month, Day, Hour, Minute, Second, HalfSecondMs, TimeSpan.Zero));
        Irq = new IrqLineProbe(RtcDevice.Irq);
        Rtc = new RtcDevice(Time, Irq, memory ?? CmosMemorySize.None);
        Bus = new DeviceBus(Rtc);
    }

    protected FakeTimeProvider Time { get; }

    protected IrqLineProbe Irq { get; }

    protected RtcDevice Rtc { get; }

    protected DeviceBus Bus { get; }

    protected byte ReadCmos(int index)
    {
        Bus.Out8(IndexPort, (byte)index);
        return Bus.In8(DataPort);
    }

    protected void WriteCmos(int index, byte value)
    {
        Bus.Out8(IndexPort, (byte)index);
        Bus.Out8(DataPort, value);
    }

    protected void SetRegisterBBits(byte bits) =>
        WriteCmos(Mc146818Rtc.RegisterBIndex, (byte)(ReadCmos(Mc146818Rtc.RegisterBIndex) | bits));

    /// <summary>Advances the fake clock to just past the next whole second.</summary>
    protected void AdvancePastNextSecond()
    {
        var now = Time.GetUtcNow();
        var next = new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero).AddSeconds(1);
        Time.Advance(next - now + TimeSpan.FromMilliseconds(1));
    }
}
