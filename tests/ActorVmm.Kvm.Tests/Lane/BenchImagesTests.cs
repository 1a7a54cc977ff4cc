using ActorVmm.Emulator;
using ActorVmm.KvmLane;
using ActorVmm.Machine.Traps;
using ActorVmm.TestGuests;

namespace ActorVmm.Kvm.Tests.Lane;

/// <summary>
/// The guests of bench/emulator-vs-qemu.sh: each flat binary comes with a firmware image holding the same bytes, the
/// loops make exactly their iteration count of POST-port writes and every guest exits with status 0 (run here on the
/// emulator with small counts), and counts the loops cannot run are refused.
/// </summary>
public sealed class BenchImagesTests
{
    private const uint ExitIterations = 3;
    private const uint AluIterations = 5;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static readonly string ExitWrite = TrapRecorder.Format(TrapBus.Pio, TrapDirection.Write, GuestAssembler.ExitPort, 1, 0);

    private static readonly IReadOnlyDictionary<string, byte[]> Images = BenchImages.Build(ExitIterations, AluIterations);

    private static string[] FlatNames =>
    [
        BenchImages.TinyName,
        BenchImages.OutLoopName(ExitIterations),
        BenchImages.OutLoopName(2 * ExitIterations),
        BenchImages.AluLoopName(AluIterations),
        BenchImages.AluLoopName(2 * AluIterations),
    ];

    [Fact]
    public void Every_flat_guest_has_a_firmware_image_that_starts_with_its_bytes()
    {
        Assert.Equal(FlatNames.Length * 2, Images.Count);
        foreach (string name in FlatNames)
        {
            byte[] flat = Images[name];
            byte[] rom = Images[name + BenchImages.BiosSuffix];

            Assert.Equal(FlatBiosImage.Size, rom.Length);
            Assert.Equal(flat, rom[..flat.Length]);
        }
    }

    [Theory]
    [InlineData(ExitIterations)]
    [InlineData(2 * ExitIterations)]
    public void The_exit_heavy_loop_writes_the_post_port_once_per_iteration_then_exits_with_status_0(uint iterations)
    {
        var trace = RunOnEmulator(BenchImages.OutLoopName(iterations));

        Assert.True(trace.Succeeded, trace.Summary);
        // The loop writes whatever AL holds at entry; the port, width and count are what the bench relies on.
        string postWrite = TrapRecorder.Format(TrapBus.Pio, TrapDirection.Write, BenchImages.PostPort, 1, 0);
        string postWritePrefix = postWrite[..(postWrite.LastIndexOf(' ') + 1)];
        Assert.Equal((int)iterations + 1, trace.Traps.Count);
        Assert.All(trace.Traps.Take((int)iterations), line => Assert.StartsWith(postWritePrefix, line, StringComparison.Ordinal));
        Assert.Equal(ExitWrite, trace.Traps[^1]);
    }

    [Fact]
    public void The_alu_loops_and_the_tiny_guest_make_no_exit_but_the_exit_port()
    {
        foreach (string name in new[] { BenchImages.TinyName, BenchImages.AluLoopName(AluIterations), BenchImages.AluLoopName(2 * AluIterations) })
        {
            var trace = RunOnEmulator(name);

            Assert.True(trace.Succeeded, $"{name}: {trace.Summary}");
            Assert.Equal([ExitWrite], trace.Traps);
        }
    }

    [Theory]
    [InlineData(0u, AluIterations)]
    [InlineData(ExitIterations, 0u)]
    [InlineData(uint.MaxValue / 2 + 1, AluIterations)]
    [InlineData(ExitIterations, uint.MaxValue / 2 + 1)]
    public void Counts_the_loops_cannot_run_twice_in_ecx_are_refused(uint exitIterations, uint aluIterations)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BenchImages.Build(exitIterations, aluIterations));
    }

    private static GuestTrace RunOnEmulator(string name)
    {
        using var emulator = new EmulatorHypervisor();
        return GuestTraceRunner.Run(emulator, new LaneGuest(name, Images[name]), Timeout);
    }
}
