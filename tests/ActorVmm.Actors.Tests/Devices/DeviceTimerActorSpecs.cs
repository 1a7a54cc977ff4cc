using ActorVmm.Actors.Devices;
using ActorVmm.Actors.Devices.Pit;
using ActorVmm.Actors.Tests.Devices.Support;
using Akka.TestKit.Xunit2;

namespace ActorVmm.Actors.Tests.Devices;

public sealed class DeviceTimerActorSpecs : TestKit
{
    private static readonly TimeSpan ShortDelay = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    /// <summary>A timed device that asks to be called back a given number of times, then goes quiet.</summary>
    private sealed class CountdownDevice(int callbacks) : ITimedDevice
    {
        private int _calls;
        private int _remaining = callbacks;

        public event Action? ScheduleChanged;

        public int Calls => Volatile.Read(ref _calls);

        public TimeSpan? OnTimer()
        {
            Interlocked.Increment(ref _calls);
            return Interlocked.Decrement(ref _remaining) >= 0 ? ShortDelay : null;
        }

        public void Reprogram(int callbacks)
        {
            Volatile.Write(ref _remaining, callbacks);
            ScheduleChanged?.Invoke();
        }
    }

    [Fact]
    public void Calls_the_device_back_after_each_returned_delay_until_it_reports_nothing_due()
    {
        const int Callbacks = 3;
        var device = new CountdownDevice(Callbacks);

        Sys.ActorOf(DeviceTimerActor.Props(device));

        AwaitCondition(() => device.Calls == Callbacks + 1, Patience);
        ExpectNoMsg(TimeSpan.FromMilliseconds(50));
        Assert.Equal(Callbacks + 1, device.Calls);
    }

    [Fact]
    public async Task ScheduleChanged_from_another_thread_rearms_an_idle_timer()
    {
        const int Later = 2;
        var device = new CountdownDevice(0);
        Sys.ActorOf(DeviceTimerActor.Props(device));
        AwaitCondition(() => device.Calls == 1, Patience);

        await Task.Run(() => device.Reprogram(Later));

        await AwaitConditionAsync(() => Task.FromResult(device.Calls == 1 + 1 + Later), Patience);
    }

    [Fact]
    public void Drives_PIT_channel0_so_IRQ0_pulses_keep_coming_on_the_system_clock()
    {
        const byte Ch0LoHiMode2 = 0x34;
        const ushort TenMillisecondCount = 11932;
        const int WantedPulses = 3;
        const int CounterOffset = 0;
        var irq = new IrqLineProbe(PitDevice.Irq);
        var pit = new PitDevice(TimeProvider.System, irq);
        var bus = new DeviceBus(pit);
        Sys.ActorOf(DeviceTimerActor.Props(pit));

        bus.Out8((ushort)(PitDevice.DefaultCounterBase + Pit8254.ControlOffset), Ch0LoHiMode2);
        bus.Out8((ushort)(PitDevice.DefaultCounterBase + CounterOffset), TenMillisecondCount & 0xFF);
        bus.Out8((ushort)(PitDevice.DefaultCounterBase + CounterOffset), TenMillisecondCount >> 8);

        AwaitCondition(() => pit.Inspect(p => p.IrqCount) >= WantedPulses, Patience);
    }
}
