using ActorVmm.Devices.Legacy;
using ActorVmm.Devices.Tests.Support;
using ActorVmm.Machine.Traps;
using static ActorVmm.Devices.Legacy.LegacyPortMap;

namespace ActorVmm.Devices.Tests.Legacy;

public sealed class LegacyPortsTests
{
    private const int ByteAccess = 1;
    private const int WordAccess = 2;
    private const int DwordAccess = 4;
    private const byte PostCode = 0x42;
    private const byte ExitStatus = 7;
    private const byte BootTag = 1;
    private const ushort OtherFpuPort = 0xF8;
    private const int VcpuId = 0;
    private static readonly TimeSpan BootDelay = TimeSpan.FromMilliseconds(125);

    private readonly RecordingPowerRequests _power = new();
    private readonly ManualTimeProvider _time = new();

    private LegacyPorts Create(LegacyPortOptions? options = null) => new(options ?? LegacyPortOptions.Default, _power, _time);

    [Fact]
    public void Default_map_has_no_overlapping_ranges_and_registers_in_a_trap_table()
    {
        var device = new LegacyPortsDevice(LegacyPortOptions.Default, _power, _time);
        var table = new TrapTable();
        var writer = table.ClaimWriter();

        foreach (var region in device.Regions)
        {
            writer.Register(region.Bus, region.Base, region.Length, _ => { });
        }

        Assert.Equal(device.Regions.Count, table.Regions(TrapBus.Pio).Count);
    }

    [Fact]
    public void Fpu_range_is_split_around_the_exit_port()
    {
        var ranges = LegacyPortMap.Build(LegacyPortOptions.Default);

        Assert.DoesNotContain(ranges, r => r.Contains(LegacyPortOptions.DefaultExitPort));
        Assert.All(
            Enumerable.Range(FpuFirst, FpuLast - FpuFirst + 1).Where(port => port != LegacyPortOptions.DefaultExitPort),
            port => Assert.Single(ranges, r => r.Contains(port)));
    }

    [Fact]
    public void Without_an_exit_port_the_fpu_range_is_whole()
    {
        var ranges = LegacyPortMap.Build(new LegacyPortOptions(ExitPort: null));

        var fpu = Assert.Single(ranges, r => r.Contains(FpuFirst));
        Assert.Equal(FpuLast, fpu.Last);
    }

    [Fact]
    public void An_exit_port_on_top_of_another_legacy_port_is_rejected()
    {
        var ex = Assert.Throws<ArgumentException>(() => LegacyPortMap.Build(new LegacyPortOptions(ExitPort: PostCodePort)));

        Assert.Contains("post", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_exit_port_is_left_to_the_exit_port_device_and_reads_nothing_here()
    {
        var ports = Create();

        ports.Write(LegacyPortOptions.DefaultExitPort, ByteAccess, ExitStatus);

        Assert.Empty(_power.Stops);
        Assert.DoesNotContain(ports.Ranges, r => r.Contains(LegacyPortOptions.DefaultExitPort));
    }

    [Fact]
    public void The_port_left_for_the_exit_port_device_is_configurable()
    {
        var ranges = LegacyPortMap.Build(new LegacyPortOptions(ExitPort: OtherFpuPort));

        Assert.DoesNotContain(ranges, r => r.Contains(OtherFpuPort));
        Assert.Contains(ranges, r => r.Contains(LegacyPortOptions.DefaultExitPort));
    }

    [Fact]
    public void Post_code_is_latched_and_read_back()
    {
        var ports = Create();
        Assert.Null(ports.LastPostCode);

        ports.Write(PostCodePort, ByteAccess, PostCode);

        Assert.Equal(PostCode, ports.LastPostCode);
        Assert.Equal(PostCode, ports.Read(PostCodePort, ByteAccess));
    }

    [Fact]
    public void Boot_time_probe_reports_time_since_VM_start_from_the_injected_clock()
    {
        var ports = Create();
        _time.Advance(BootDelay);

        ports.Write(LegacyPortOptions.DefaultBootTimePort, ByteAccess, BootTag);

        Assert.Equal((BootTag, BootDelay), ports.LastBootTime);
    }

    [Fact]
    public void System_control_A_reads_A20_on_after_power_on()
    {
        var ports = Create();

        Assert.Equal(LegacyPorts.SystemControlA20Bit, ports.Read(SystemControlAPort, ByteAccess));
    }

    [Fact]
    public void System_control_A_fast_reset_bit_requests_a_reset_once_per_rising_edge()
    {
        var ports = Create();
        const byte A20AndReset = LegacyPorts.SystemControlA20Bit | LegacyPorts.SystemControlFastResetBit;

        ports.Write(SystemControlAPort, ByteAccess, A20AndReset);
        ports.Write(SystemControlAPort, ByteAccess, A20AndReset);

        Assert.Equal([PowerRequestSource.SystemControlFastReset], _power.Resets);
        ports.Write(SystemControlAPort, ByteAccess, LegacyPorts.SystemControlA20Bit);
        ports.Write(SystemControlAPort, ByteAccess, A20AndReset);
        Assert.Equal(2, _power.Resets.Count);
    }

    [Theory]
    [InlineData(Dma1First, ByteAccess)]
    [InlineData(Dma2First, WordAccess)]
    [InlineData(DelayPort, ByteAccess)]
    [InlineData(FpuFirst, ByteAccess)]
    [InlineData(Lpt378First, ByteAccess)]
    [InlineData(Lpt278First, DwordAccess)]
    [InlineData(VgaCrtFirst, WordAccess)]
    public void Benign_ports_read_all_ones_and_swallow_writes(ushort port, int size)
    {
        var ports = Create();
        ulong allOnes = (1UL << (8 * size)) - 1;

        ports.Write(port, size, 0);

        Assert.Equal(allOnes, ports.Read(port, size));
        Assert.Empty(_power.Stops);
        Assert.Empty(_power.Resets);
    }

    [Fact]
    public void Reset_clears_the_post_latch_and_restores_A20()
    {
        var ports = Create();
        ports.Write(PostCodePort, ByteAccess, PostCode);
        ports.Write(SystemControlAPort, ByteAccess, 0);

        ports.Reset();

        Assert.Null(ports.LastPostCode);
        Assert.Equal(LegacyPorts.SystemControlA20Bit, ports.SystemControlA);
    }

    [Fact]
    public void Device_answers_an_unknown_region_index_as_an_empty_bus()
    {
        var device = new LegacyPortsDevice(LegacyPortOptions.Default, _power, _time);
        Span<byte> data = [0];

        device.HandleTrap(device.Regions.Count, new TrapAccess(VcpuId, TrapBus.Pio, 0, 0, TrapDirection.Read, data));

        Assert.Equal(LegacyPorts.EmptyBusByte, data[0]);
    }
}
