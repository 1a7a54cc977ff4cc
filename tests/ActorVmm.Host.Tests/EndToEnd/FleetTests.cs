using ActorVmm.Host.Cli;

namespace ActorVmm.Host.Tests.EndToEnd;

/// <summary><c>actorvmm fleet</c> as a process, on the emulator.</summary>
public sealed class FleetTests : IDisposable
{
    private const int Count = 20;
    private readonly string _dir = Directory.CreateTempSubdirectory("actorvmm-fleet-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Fleet_of_20_reports_20_vms_started_and_none_failed()
    {
        string consoles = Path.Combine(_dir, "consoles");

        var (code, stdout, stderr) = await ActorVmmProcess.RunAsync(_dir, "fleet", "--count", Count.ToString(), "--backend", "emulator", "--console-dir", consoles);

        Assert.True(code == ExitCodes.Success, $"exit {code}: {stderr}");
        Assert.Contains($"VMs started: {Count} of {Count}", stdout, StringComparison.Ordinal);
        Assert.Contains("VMs failed: 0", stdout, StringComparison.Ordinal);
        Assert.Contains("host memory per VM:", stdout, StringComparison.Ordinal);
        Assert.Contains("memory left after all VMs ended:", stdout, StringComparison.Ordinal);
        Assert.Equal(Count, Directory.GetFiles(consoles, "*.log").Length);
    }

    [Fact]
    public async Task Fleet_runs_with_akka_s_own_scheduler_chosen_by_config()
    {
        // bench/idle-cpu.sh's baseline: the shipped scheduler replaced through --config.
        string config = Path.Combine(_dir, "akka-wheel.hocon");
        await File.WriteAllTextAsync(config, "akka.scheduler.implementation = \"Akka.Actor.HashedWheelTimerScheduler, Akka\"");

        var (code, stdout, stderr) = await ActorVmmProcess.RunAsync(_dir, "fleet", "--count", "2", "--backend", "emulator", "--config", config, "--console-dir", Path.Combine(_dir, "consoles"));

        Assert.True(code == ExitCodes.Success, $"exit {code}: {stderr}");
        Assert.Contains("VMs started: 2 of 2", stdout, StringComparison.Ordinal);
    }
}
