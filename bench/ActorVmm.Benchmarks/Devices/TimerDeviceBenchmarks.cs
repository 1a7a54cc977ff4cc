using ActorVmm.Devices;
using ActorVmm.Devices.Pic;
using ActorVmm.Devices.Pit;
using ActorVmm.Devices.Rtc;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Traps;
using BenchmarkDotNet.Attributes;

namespace ActorVmm.Benchmarks.Devices;

/// <summary>
/// One guest access through the trap dispatcher into the RTC, PIC and PIT hot paths (lock + state
/// machine), and the PIC's IRQ → INTA → EOI cycle the emulator runs per timer interrupt.
/// Run: dotnet run -c Release --project bench/ActorVmm.Benchmarks -- --filter '*TimerDevice*' --job short
/// </summary>
[MemoryDiagnoser]
public class TimerDeviceBenchmarks
{
    private const ushort RtcIndex = 0x70;
    private const ushort RtcData = 0x71;
    private const ushort PicCommand = 0x20;
    private const ushort PitChannel0 = 0x40;
    private const byte NonSpecificEoi = 0x20;
    private const byte Ch0LoHiMode2 = 0x34;
    private const int Timer = 0;

    private readonly byte[] _byte = new byte[1];
    private TrapDispatcher _dispatcher = null!;
    private PicDevice _pic = null!;

    [GlobalSetup]
    public void Setup()
    {
        var table = new TrapTable();
        var writer = table.ClaimWriter();
        _dispatcher = new TrapDispatcher(table);
        _pic = new PicDevice();
        var rtc = new RtcDevice(TimeProvider.System, new NullLine(), CmosMemorySize.None);
        var pit = new PitDevice(TimeProvider.System, new NullLine());
        foreach (IDevice device in new IDevice[] { _pic, rtc, pit })
        {
            for (int i = 0; i < device.Regions.Count; i++)
            {
                int region = i;
                var r = device.Regions[i];
                writer.Register(r.Bus, r.Base, r.Length, access => device.HandleTrap(region, access), name: device.Name);
            }
        }

        Out(PitChannel0 + Pit8254.ControlOffset, Ch0LoHiMode2);
        Out(PitChannel0, 0);
        Out(PitChannel0, 0);
        Out(RtcIndex, Mc146818Rtc.SecondsIndex);
    }

    /// <summary>IN from 0x71 with the seconds register selected: current time, BCD-encoded.</summary>
    [Benchmark]
    public byte RtcSecondsRead() => In(RtcData);

    /// <summary>IN from 0x40: the live channel 0 count from the clock.</summary>
    [Benchmark]
    public byte PitCounterRead() => In(PitChannel0);

    /// <summary>IRQ 0 edge, INTA, then the guest's EOI OUT to 0x20.</summary>
    [Benchmark]
    public byte PicIrqAckEoi()
    {
        _pic.PulseIrq(Timer);
        _pic.TryAcknowledge(out byte vector);
        Out(PicCommand, NonSpecificEoi);
        return vector;
    }

    private byte In(ushort port)
    {
        _dispatcher.Dispatch(0, TrapBus.Pio, port, TrapDirection.Read, _byte);
        return _byte[0];
    }

    private void Out(int port, byte value)
    {
        _byte[0] = value;
        _dispatcher.Dispatch(0, TrapBus.Pio, (ulong)port, TrapDirection.Write, _byte);
    }

    private sealed class NullLine : IInterruptLine
    {
        public int Irq => 0;

        public void SetLevel(bool asserted)
        {
        }

        public void Pulse()
        {
        }
    }
}
