using ActorVmm.Devices.Pic;
using ActorVmm.Devices.Tests.Support;
using ActorVmm.Machine.Traps;
using ActorVmm.TestSupport;
using FsCheck.Xunit;

namespace ActorVmm.Devices.Tests.Pic;

public sealed class PicDeviceTests
{
    private const ushort MasterCommand = 0x20;
    private const ushort MasterData = 0x21;
    private const ushort SlaveCommand = 0xA0;
    private const ushort SlaveData = 0xA1;
    private const ushort ElcrMaster = 0x4D0;
    private const byte Icw1 = 0x11;
    private const byte MasterVectorBase = 0x20;
    private const byte SlaveVectorBase = 0x28;
    private const byte MasterIcw3 = 0x04;
    private const byte SlaveIcw3 = 0x02;
    private const byte Icw4 = 0x01;
    private const byte NonSpecificEoi = 0x20;
    private const byte Unmasked = 0x00;
    private const int Keyboard = 1;
    private const int Com1 = 4;
    private const int Rtc = 8;
    private const int WordSize = 2;
    private const int ByteBits = 8;

    private static (PicDevice Pic, DeviceBus Bus) Initialised()
    {
        var pic = new PicDevice();
        var bus = new DeviceBus(pic);
        foreach (var (port, value) in new (ushort, byte)[]
        {
            (MasterCommand, Icw1), (MasterData, MasterVectorBase), (MasterData, MasterIcw3), (MasterData, Icw4),
            (SlaveCommand, Icw1), (SlaveData, SlaveVectorBase), (SlaveData, SlaveIcw3), (SlaveData, Icw4),
            (MasterData, Unmasked), (SlaveData, Unmasked),
        })
        {
            bus.Out8(port, value);
        }

        return (pic, bus);
    }

    [Fact]
    public void Declares_master_slave_and_ELCR_port_regions_at_the_PC_addresses()
    {
        var pic = new PicDevice();

        Assert.Equal([MasterCommand, SlaveCommand, ElcrMaster], pic.Regions.Select(r => (ushort)r.Base));
        Assert.All(pic.Regions, r => Assert.Equal(TrapBus.Pio, r.Bus));
    }

    [Fact]
    public void InterruptRequested_fires_when_INTR_rises_and_TryAcknowledge_returns_the_vector()
    {
        var (pic, _) = Initialised();
        int requests = 0;
        pic.InterruptRequested += () => requests++;

        pic.Line(Rtc).Pulse();

        Assert.Equal(1, requests);
        Assert.True(pic.HasPendingInterrupt);
        Assert.True(pic.TryAcknowledge(out byte vector));
        Assert.Equal(SlaveVectorBase, vector);
        Assert.False(pic.HasPendingInterrupt);
    }

    [Fact]
    public void TryAcknowledge_with_INTR_low_returns_false()
    {
        var (pic, _) = Initialised();

        Assert.False(pic.TryAcknowledge(out _));
    }

    [Fact]
    public void Guest_EOI_on_the_command_port_ends_the_interrupt()
    {
        var (pic, bus) = Initialised();
        pic.Line(Com1).Pulse();
        pic.TryAcknowledge(out _);

        bus.Out8(MasterCommand, NonSpecificEoi);

        Assert.Equal(0, pic.Inspect(p => p.Master.Isr));
    }

    [Fact]
    public void Word_read_of_the_master_block_reads_IRR_then_IMR_as_two_byte_lanes()
    {
        var (pic, bus) = Initialised();
        const byte mask = 0xF0;
        bus.Out8(MasterData, mask);
        pic.Line(Keyboard).Pulse();

        ulong word = bus.Read(TrapBus.Pio, MasterCommand, WordSize);

        Assert.Equal((ulong)(1 << Keyboard) | ((ulong)mask << ByteBits), word);
        Assert.Equal(DispatchOutcome.Handled, bus.LastOutcome);
    }

    [Fact]
    public async Task Concurrent_irq_lines_and_acknowledges_never_lose_the_controller_state()
    {
        const int Rounds = 2000;
        var (pic, bus) = Initialised();
        int[] lines = [Keyboard, 3, Com1, 5, 6];
        int delivered = 0;
        using var stop = new CancellationTokenSource();

        var acker = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested || pic.HasPendingInterrupt)
            {
                if (pic.TryAcknowledge(out _))
                {
                    Interlocked.Increment(ref delivered);
                    bus.Out8(MasterCommand, NonSpecificEoi);
                }
            }
        });
        Parallel.ForEach(lines, irq =>
        {
            var line = pic.Line(irq);
            for (int i = 0; i < Rounds; i++)
            {
                line.Pulse();
            }
        });
        stop.Cancel();
        await acker;

        Assert.InRange(delivered, lines.Length, lines.Length * Rounds);
        Assert.Equal(0, pic.Inspect(p => p.Master.Isr));
        Assert.False(pic.HasPendingInterrupt);
    }

    [Property]
    public void Any_guest_access_sequence_of_any_size_never_faults_the_device(byte[] script)
    {
        ushort[] ports = [MasterCommand, MasterData, SlaveCommand, SlaveData, ElcrMaster, ElcrMaster + 1];
        int[] sizes = [1, 2, 4];
        var (pic, bus) = Initialised();
        for (int i = 0; i + 2 < script.Length; i += 3)
        {
            ushort port = ports[script[i] % ports.Length];
            int size = sizes[script[i + 1] % sizes.Length];
            if ((script[i + 1] & 0x80) != 0)
            {
                bus.Write(TrapBus.Pio, port, size, script[i + 2]);
            }
            else
            {
                bus.Read(TrapBus.Pio, port, size);
            }

            Assert.NotEqual(DispatchOutcome.Faulted, bus.LastOutcome);
            pic.TryAcknowledge(out _);
        }
    }

    [Fact]
    public void Supervisor_definition_reuses_the_attached_controller_reset_to_power_on()
    {
        var (pic, _) = Initialised();
        var definition = TimerDeviceDefinitions.Pic(pic);

        var instance = definition.Factory(TestDeviceContext.Create(definition.Name, TimeProvider.System));

        Assert.Same(pic, instance);
        Assert.True(pic.Inspect(p => p.Master.VectorBase == 0 && p.Master.Imr == 0 && !p.Master.Initializing));
    }
}
