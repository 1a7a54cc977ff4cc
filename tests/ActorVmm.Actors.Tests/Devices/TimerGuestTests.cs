using ActorVmm.Actors.Tests.Devices.Support;
using ActorVmm.Devices;
using ActorVmm.Devices.Pic;
using ActorVmm.Devices.Pit;
using ActorVmm.Devices.Rtc;
using ActorVmm.Devices.Serial;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Traps;
using ActorVmm.TestGuests;
using Microsoft.Extensions.Time.Testing;

namespace ActorVmm.Actors.Tests.Devices;

/// <summary>Guest programs on the emulator driving the RTC, PIC and PIT through the real trap path.</summary>
public sealed class TimerGuestTests
{
    private const int GuestSuccess = 0;
    private const int Century = 100;

    [Fact]
    public void Guest_waits_for_UIP_to_clear_then_reads_the_fake_clock_in_BCD()
    {
        // 150 µs before a second boundary: UIP is set, so the guest must poll until the update.
        var start = new DateTimeOffset(2026, 11, 25, 14, 37, 59, TimeSpan.Zero).AddSeconds(1) - TimeSpan.FromMicroseconds(150);
        var time = new FakeTimeProvider(start) { AutoAdvanceAmount = TimeSpan.FromMicroseconds(20) };
        using var rig = new EmulatorRig(TimerGuests.RtcReadTime());
        var rtc = new RtcDevice(time, rig.Vm.GetInterruptLine(RtcDevice.Irq), CmosMemorySize.None);
        rig.Attach(rtc);
        var report = rig.CapturePortWrites(TimerGuests.ReportPort);
        var polls = rig.CapturePortWrites(TimerGuests.UipPollsPort, sizeof(ushort));

        rig.Run();

        Assert.Equal(GuestSuccess, rig.ExitStatus);
        var expected = start.UtcDateTime.AddSeconds(1);
        ulong[] values = report.ToArray();
        Assert.Equal(
            new ulong[] { (ulong)expected.Second, (ulong)expected.Minute, (ulong)expected.Hour, (ulong)expected.Day, (ulong)expected.Month, (ulong)(expected.Year % Century), (ulong)(expected.Year / Century) },
            values);
        Assert.True(polls.TryDequeue(out ulong pollCount));
        Assert.True(pollCount > 1, $"the guest read register A {pollCount} time(s); UIP should have held it");
    }

    [Fact]
    public async Task PIT_IRQ0_routed_through_the_PIC_wakes_a_halted_vCPU_until_it_counted_its_ticks()
    {
        const ushort OneMillisecondCount = 1193;
        const ushort Ticks = 5;
        var time = new FakeTimeProvider();
        using var rig = new EmulatorRig(TimerGuests.PitTicksWakeHaltedCpu(OneMillisecondCount, Ticks));
        var pic = new PicDevice();
        rig.Vm.AttachInterruptController(pic);
        var pit = new PitDevice(time, rig.Vm.GetInterruptLine(PitDevice.Irq));
        rig.Attach(pic);
        rig.Attach(pit);
        await RunWithTimerPump(rig, pit, time);

        Assert.Equal(GuestSuccess, rig.ExitStatus);
        Assert.True(pit.Inspect(p => p.IrqCount) >= Ticks);
        Assert.Equal(0, pic.Inspect(p => p.Master.Isr));
        ushort counted = BitConverter.ToUInt16(rig.Vm.Memory.GetSpan(GuestAssembler.LoadAddress + TimerGuests.TickCounterOffset, sizeof(ushort)));
        Assert.Equal(Ticks, counted);
    }

    [Fact]
    public async Task RTC_periodic_interrupts_reach_a_halted_vCPU_through_the_slave_PIC()
    {
        const byte Rate1024Hz = 0x06;
        const ushort Ticks = 4;
        var time = new FakeTimeProvider();
        using var rig = new EmulatorRig(TimerGuests.RtcPeriodicInterrupts(Rate1024Hz, Ticks));
        var pic = new PicDevice();
        rig.Vm.AttachInterruptController(pic);
        var rtc = new RtcDevice(time, rig.Vm.GetInterruptLine(RtcDevice.Irq), CmosMemorySize.None);
        rig.Attach(pic);
        rig.Attach(rtc);
        await RunWithTimerPump(rig, rtc, time);

        Assert.Equal(GuestSuccess, rig.ExitStatus);
        ushort counted = BitConverter.ToUInt16(rig.Vm.Memory.GetSpan(GuestAssembler.LoadAddress + TimerGuests.TickCounterOffset, sizeof(ushort)));
        Assert.Equal(Ticks, counted);
        Assert.Equal(0, pic.Inspect(p => p.Master.Isr | p.Slave.Isr));
    }

    private sealed class CollectingSerial : IGuestOutput
    {
        private readonly List<byte> _bytes = [];

        public string Text
        {
            get
            {
                lock (_bytes)
                {
                    return System.Text.Encoding.ASCII.GetString([.. _bytes]);
                }
            }
        }

        public void Write(ReadOnlySpan<byte> bytes)
        {
            lock (_bytes)
            {
                _bytes.AddRange(bytes);
            }
        }
    }

    [Fact]
    public void Same_RTC_and_UART_code_serves_a_guest_at_the_arm64_platform_MMIO_addresses()
    {
        const string Text = "mmio uart";
        const int UartIrq = 4;
        var start = new DateTimeOffset(2026, 11, 25, 14, 37, 42, 500, TimeSpan.Zero);
        var time = new FakeTimeProvider(start);
        var uartOutput = new CollectingSerial();
        using var rig = new EmulatorRig(TimerGuests.RtcAndUartOverMmio((uint)Arm64MemoryMap.UartBase, (uint)Arm64MemoryMap.RtcBase, Text));
        var rtc = new RtcDevice(time, rig.Vm.GetInterruptLine(RtcDevice.Irq), CmosMemorySize.None, TrapBus.Mmio, Arm64MemoryMap.RtcBase);
        var uart = new SerialDevice(SerialPortSpec.Mmio("uart", Arm64MemoryMap.UartBase, UartIrq), rig.Vm.GetInterruptLine(UartIrq), uartOutput);
        rig.Attach(rtc);
        rig.Attach(uart);
        var report = rig.CapturePortWrites(TimerGuests.ReportPort);

        rig.Run();

        Assert.Equal(GuestSuccess, rig.ExitStatus);
        Assert.Equal([(ulong)start.Second], report.ToArray());
        Assert.Equal(Text, uartOutput.Text);
        Assert.All(rtc.Regions.Concat(uart.Regions), r => Assert.Equal(TrapBus.Mmio, r.Bus));
    }

    /// <summary>
    /// Runs the guest while a loop stands in for the device's timer actor: fire what is due, then move
    /// the fake clock to the next edge.
    /// </summary>
    private static async Task RunWithTimerPump(EmulatorRig rig, ITimedDevice device, FakeTimeProvider time)
    {
        using var stop = new CancellationTokenSource();
        var pump = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (device.OnTimer() is TimeSpan delay)
                {
                    time.Advance(delay);
                }

                await Task.Delay(1);
            }
        });
        rig.Run();
        await stop.CancelAsync();
        await pump;
    }
}
