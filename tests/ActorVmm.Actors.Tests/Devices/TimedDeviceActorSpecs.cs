using ActorVmm.Actors.Devices;
using ActorVmm.Actors.Tests.Fakes;
using ActorVmm.Devices;
using ActorVmm.Devices.Pit;
using ActorVmm.Devices.Rtc;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Traps;
using ActorVmm.TestSupport;
using Akka.Actor;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace ActorVmm.Actors.Tests.Devices;

public sealed class TimedDeviceActorSpecs(ITestOutputHelper output) : ActorVmmTestKit(output)
{
    private const string VmName = "timers";
    private static readonly TimeSpan ShortDelay = TimeSpan.FromMilliseconds(5);
    private readonly GuestMemory _ram = GuestMemory.Create(GuestMemoryRegion.PageSize);

    protected override void Dispose(bool disposing)
    {
        // The actor system (and every device in it) stops first; the RAM goes last.
        base.Dispose(disposing);
        if (disposing)
        {
            _ram.Dispose();
        }
    }

    /// <summary>A timed device that asks to be called back a given number of times, then goes quiet.</summary>
    private sealed class CountdownDevice(int callbacks) : IDevice, ITimedDevice
    {
        private int _calls;
        private int _remaining = callbacks;

        public event Action? ScheduleChanged;

        public string Name => "countdown";

        public IReadOnlyList<DeviceRegion> Regions { get; } = [];

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

        public void HandleTrap(int region, TrapAccess access)
        {
        }

        public void Reset()
        {
        }

        public DeviceState CaptureState() => NoDeviceState.Instance;
    }

    private IDevice Start(DeviceDefinition definition, TimeProvider time, Func<int, IInterruptLine> lines)
    {
        var environment = new DeviceEnvironment(VmName, (irq, _) => lines(irq), time, new CollectingOutput(), new RecordingPower(), new GuestDma(_ram));
        // As the supervisor does it: the cell gets its instance, then the actor is told to attach it.
        var cell = new DeviceCell(definition, environment);
        var actor = ChildActorOf(DeviceActor.Props(cell));
        var device = cell.Build(new ActorMailbox(actor), state: null);
        actor.Tell(new DeviceProtocol.Attach(cell.Install(device)), ActorRefs.NoSender);
        return device;
    }

    private static DeviceDefinition Countdown(CountdownDevice device) =>
        new(device.Name, _ => device);

    [Fact]
    public void Calls_the_device_back_after_each_returned_delay_until_it_reports_nothing_due()
    {
        const int Callbacks = 3;
        var device = new CountdownDevice(Callbacks);

        Start(Countdown(device), TimeProvider.System, irq => new IrqLineProbe(irq));

        AwaitCondition(() => device.Calls == Callbacks + 1, Patience);
        ExpectNoMsg(TimeSpan.FromMilliseconds(50));
        Assert.Equal(Callbacks + 1, device.Calls);
    }

    [Fact]
    public async Task ScheduleChanged_from_another_thread_rearms_an_idle_timer()
    {
        const int Later = 2;
        var device = new CountdownDevice(0);
        Start(Countdown(device), TimeProvider.System, irq => new IrqLineProbe(irq));
        AwaitCondition(() => device.Calls == 1, Patience);

        await Task.Run(() => device.Reprogram(Later));

        await AwaitConditionAsync(() => Task.FromResult(device.Calls == 1 + 1 + Later), Patience);
    }

    [Fact]
    public void PIT_definition_pulses_IRQ0_from_its_actor_timer_on_the_system_clock()
    {
        const byte Ch0LoHiMode2 = 0x34;
        const ushort TenMillisecondCount = 11932;
        const int WantedPulses = 3;
        const ushort Channel0 = (ushort)PitDevice.DefaultCounterBase;
        const ushort Control = (ushort)(PitDevice.DefaultCounterBase + Pit8254.ControlOffset);
        var irq0 = new IrqLineProbe(PitDevice.Irq);
        var pit = (PitDevice)Start(TimerDeviceDefinitions.Pit(), TimeProvider.System, _ => irq0);
        var bus = new DeviceBus(pit);

        bus.Out8(Control, Ch0LoHiMode2);
        bus.Out8(Channel0, TenMillisecondCount & 0xFF);
        bus.Out8(Channel0, TenMillisecondCount >> 8);

        AwaitCondition(() => irq0.Pulses >= WantedPulses, Patience);
    }

    [Fact]
    public void RTC_definition_raises_the_update_interrupt_when_its_timer_finds_a_second_passed()
    {
        const ushort Index = (ushort)RtcDevice.DefaultPioBase;
        const ushort Data = Index + 1;
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 14, 0, 0, 900, TimeSpan.Zero));
        var irq8 = new IrqLineProbe(RtcDevice.Irq);
        var rtc = (RtcDevice)Start(TimerDeviceDefinitions.Rtc(CmosMemorySize.None), time, _ => irq8);
        var bus = new DeviceBus(rtc);

        bus.Out8(Index, Mc146818Rtc.RegisterBIndex);
        bus.Out8(Data, Mc146818Rtc.RegisterB24HourBit | Mc146818Rtc.RegisterBUieBit);
        time.Advance(TimeSpan.FromSeconds(1));

        AwaitCondition(() => irq8.Level, Patience);
        bus.Out8(Index, Mc146818Rtc.RegisterCIndex);
        Assert.Equal(Mc146818Rtc.RegisterCUfBit, bus.In8(Data) & Mc146818Rtc.RegisterCUfBit);
    }
}
