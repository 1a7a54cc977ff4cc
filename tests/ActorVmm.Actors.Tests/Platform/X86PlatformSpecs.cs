using System.Text;
using ActorVmm.Actors.Console;
using ActorVmm.Actors.Supervision;
using ActorVmm.Actors.Tests.Fakes;
using ActorVmm.Devices;
using ActorVmm.Devices.Pic;
using ActorVmm.Devices.Pit;
using ActorVmm.Devices.Platforms;
using ActorVmm.Devices.Rtc;
using ActorVmm.Devices.Serial;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Traps;
using Akka.Actor;
using Xunit.Abstractions;
using static ActorVmm.Devices.Serial.Uart16550Registers;

namespace ActorVmm.Actors.Tests.Platform;

/// <summary>Actor specs of the default x86 platform's adapters: the test thread plays the vCPU.</summary>
public sealed class X86PlatformSpecs(ITestOutputHelper output) : ActorVmmTestKit(output)
{
    private const byte MasterVectorBase = 0x20;
    private const byte SlaveVectorBase = 0x28;
    private const ushort MasterCommand = (ushort)PicDevice.DefaultMasterBase;
    private const ushort SlaveCommand = (ushort)PicDevice.DefaultSlaveBase;
    private const ushort RtcIndex = (ushort)RtcDevice.DefaultPioBase;
    private const ushort RtcData = RtcIndex + Mc146818Rtc.DataOffset;
    private const ushort PitChannel0 = (ushort)PitDevice.DefaultCounterBase;
    private const ushort PitControl = PitChannel0 + Pit8254.ControlOffset;
    private const byte PitChannel0LoHiMode2 = 0x34;
    private const ushort OneMillisecondCount = 1193;
    private const byte RtcRate1024Hz = 0x26;
    private const int RtcIrqOnSlave = RtcDevice.Irq - 8;
    private const string Greeting = "hello from com1\n";
    private const string Typed = "typed";
    private static readonly ushort Com1 = (ushort)SerialPortSpec.Com1.Base;

    private static readonly string[] ExpectedEmulatorDevices = ["com1", "com2", "com3", "com4", "rtc", "i8042", "legacy", "pci", "pic", "pit"];

    private (PlatformRig Rig, CollectingStream Console, IActorRef Sink) StartX86()
    {
        var console = new CollectingStream();
        var output = new GuestOutputBuffer();
        var sink = Sys.ActorOf(ConsoleSinkActor.Props(new ConsoleTarget("memory", () => console), output));
        return (PlatformRig.Start(this, X86Platform.Default, output), console, sink);
    }

    [Fact]
    public void Default_x86_platform_on_the_emulator_registers_the_uarts_rtc_i8042_legacy_ports_pic_and_pit()
    {
        var (rig, _, _) = StartX86();
        using var _rig = rig;

        rig.Supervisor.Tell(SupervisorProtocol.GetDevices.Instance, TestActor);
        var report = ExpectMsg<SupervisorProtocol.DeviceReport>(Patience);

        Assert.Equal(ExpectedEmulatorDevices.Order(), report.Devices.Select(d => d.Name).Order());
        Assert.All(report.Devices, d => Assert.Equal(DeviceLifecycle.Running, d.State));
        Assert.Contains(rig.Vm.Traps.Regions(TrapBus.Pio), r => r.Base == SerialPortSpec.Com4.Base);
    }

    [Fact]
    public void Com1_transmitted_bytes_reach_the_console_sink_complete_and_in_order()
    {
        var (rig, console, sink) = StartX86();
        using var _rig = rig;

        foreach (byte b in Encoding.ASCII.GetBytes(Greeting))
        {
            rig.Out(Com1, b);
        }

        sink.Tell(ConsoleProtocol.Flush.Instance, TestActor);
        ExpectMsg<ConsoleProtocol.Flushed>(Patience);
        Assert.Equal(Greeting, Encoding.ASCII.GetString(console.Bytes));
    }

    [Fact]
    public void Host_input_sent_to_com1_fills_its_receive_FIFO_and_raises_IRQ4_on_the_PIC()
    {
        var (rig, _, _) = StartX86();
        using var _rig = rig;
        rig.InitPic(MasterVectorBase, SlaveVectorBase);
        rig.Out((ushort)(Com1 + IerOffset), IerReceivedDataBit);
        rig.Out((ushort)(Com1 + McrOffset), McrDtrBit | McrRtsBit | McrOut2Bit);
        int irq4 = 1 << SerialPortSpec.Com1.Irq;
        Assert.Equal(0, rig.ReadIrr(MasterCommand) & irq4);

        rig.Supervisor.Tell(new SupervisorProtocol.SendToDevice(SerialPortSpec.Com1.Name, new ConsoleProtocol.Input(Encoding.ASCII.GetBytes(Typed))));

        AwaitAssert(() => Assert.NotEqual(0, rig.ReadIrr(MasterCommand) & irq4), Patience);
        // FIFOs are off (a 16450-style single RBR): the rest follows each read, refilled by the device's actor.
        var received = new StringBuilder();
        AwaitCondition(
            () =>
            {
                while ((rig.In((ushort)(Com1 + LsrOffset)) & LsrDataReadyBit) != 0)
                {
                    received.Append((char)rig.In(Com1));
                }

                return received.Length >= Typed.Length;
            },
            Patience);

        Assert.Equal(Typed, received.ToString());
    }

    [Fact]
    public void RTC_periodic_interrupt_ticked_by_its_timer_actor_raises_IRQ8_on_the_slave_PIC()
    {
        var (rig, _, _) = StartX86();
        using var _rig = rig;
        rig.InitPic(MasterVectorBase, SlaveVectorBase);
        rig.Out(RtcIndex, Mc146818Rtc.RegisterAIndex);
        rig.Out(RtcData, RtcRate1024Hz);
        rig.Out(RtcIndex, Mc146818Rtc.RegisterBIndex);
        rig.Out(RtcData, Mc146818Rtc.RegisterB24HourBit | Mc146818Rtc.RegisterBPieBit);

        AwaitAssert(() => Assert.NotEqual(0, rig.ReadIrr(SlaveCommand) & (1 << RtcIrqOnSlave)), Patience);
        rig.Out(RtcIndex, Mc146818Rtc.RegisterCIndex);
        Assert.NotEqual(0, rig.In(RtcData) & Mc146818Rtc.RegisterCPfBit);
    }

    [Fact]
    public void PIT_channel0_ticked_by_its_timer_actor_raises_IRQ0_on_the_master_PIC()
    {
        var (rig, _, _) = StartX86();
        using var _rig = rig;
        rig.InitPic(MasterVectorBase, SlaveVectorBase);
        Assert.Equal(0, rig.ReadIrr(MasterCommand) & (1 << PitDevice.Irq));

        rig.Out(PitControl, PitChannel0LoHiMode2);
        rig.Out(PitChannel0, OneMillisecondCount & 0xFF);
        rig.Out(PitChannel0, OneMillisecondCount >> 8);

        AwaitAssert(() => Assert.NotEqual(0, rig.ReadIrr(MasterCommand) & (1 << PitDevice.Irq)), Patience);
    }

    [Fact]
    public void I8042_pulse_reset_reaches_the_power_control()
    {
        const ushort KbcCommand = 0x64;
        const byte PulseReset = 0xFE;
        var (rig, _, _) = StartX86();
        using var _rig = rig;

        rig.Out(KbcCommand, PulseReset);

        Assert.Equal(1, Volatile.Read(ref rig.Power.Resets));
    }

    [Fact]
    public void A_restarted_PIC_keeps_routing_device_interrupts_to_the_vCPU()
    {
        var (rig, _, _) = StartX86();
        using var _rig = rig;
        Sys.EventStream.Subscribe(TestActor, typeof(SupervisorProtocol.DeviceRestarted));

        var picRegion = rig.Vm.Traps.Regions(TrapBus.Pio).First(r => r.Base == PicDevice.DefaultMasterBase);
        var fault = new TrapFault(picRegion, new InvalidOperationException("the test failed the PIC"), 0, picRegion.Base, TrapDirection.Read);

        rig.Supervisor.Tell(new SupervisorProtocol.HotPathFaulted(fault));

        Assert.Equal(X86Platform.PicName, ExpectMsg<SupervisorProtocol.DeviceRestarted>(Patience).DeviceName);
        rig.InitPic(MasterVectorBase, SlaveVectorBase);
        rig.Out(PitControl, PitChannel0LoHiMode2);
        rig.Out(PitChannel0, OneMillisecondCount & 0xFF);
        rig.Out(PitChannel0, OneMillisecondCount >> 8);

        AwaitAssert(() => Assert.NotEqual(0, rig.ReadIrr(MasterCommand) & (1 << PitDevice.Irq)), Patience);
    }

    [Fact]
    public void Com2_attached_to_an_output_transmits_there_and_not_to_the_console()
    {
        var com2Output = new CollectingOutput();
        var console = new CollectingStream();
        var output = new GuestOutputBuffer();
        var sink = Sys.ActorOf(ConsoleSinkActor.Props(new ConsoleTarget("memory", () => console), output));
        var platform = new X86Platform(new X86PlatformOptions(SerialOutputs: new Dictionary<string, Func<IGuestOutput>> { [SerialPortSpec.Com2.Name] = () => com2Output }));
        using var rig = PlatformRig.Start(this, platform, output);

        foreach (byte b in Encoding.ASCII.GetBytes(Greeting))
        {
            rig.Out((ushort)SerialPortSpec.Com2.Base, b);
        }

        sink.Tell(ConsoleProtocol.Flush.Instance, TestActor);
        ExpectMsg<ConsoleProtocol.Flushed>(Patience);
        Assert.Equal(Greeting, Encoding.ASCII.GetString(com2Output.Bytes));
        Assert.Empty(console.Bytes);
    }

    [Theory]
    [InlineData(16UL << 20, 16UL << 20, 0UL)]
    [InlineData(X86MemoryMap.MmioHoleStart, X86MemoryMap.MmioHoleStart, 0UL)]
    [InlineData(X86MemoryMap.FourGiB, X86MemoryMap.MmioHoleStart, X86MemoryMap.MmioHoleSize)]
    public void CMOS_memory_fields_split_RAM_around_the_32bit_MMIO_hole(ulong ram, ulong below, ulong above)
    {
        Assert.Equal(new CmosMemorySize(below, above), X86Platform.CmosMemory(MemoryMap.X86.Layout(ram)));
    }
}
