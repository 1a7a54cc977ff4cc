using System.Globalization;
using System.Text.RegularExpressions;
using ActorVmm.Host.Backends;
using ActorVmm.Host.Cli;
using ActorVmm.Host.Demo;

namespace ActorVmm.Host.Tests.EndToEnd;

/// <summary>The built-in demo guest: what <c>./build.sh run</c> shows on a fresh machine.</summary>
public sealed partial class DemoTests : IDisposable
{
    private static readonly TimeSpan ClockTolerance = TimeSpan.FromMinutes(2);
    private readonly string _dir = Directory.CreateTempSubdirectory("actorvmm-demo-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Demo_prints_banner_rtc_date_self_test_and_devices_then_exits_0()
    {
        var (code, stdout, stderr) = await ActorVmmProcess.RunAsync(_dir, "run", "--backend", "emulator");

        Assert.True(code == ExitCodes.Success, $"exit {code}: {stderr}");
        Assert.Contains(DemoGuest.Banner, stdout, StringComparison.Ordinal);
        var date = DateLine().Match(stdout);
        Assert.True(date.Success, $"no date line in: {stdout}");
        var guestTime = DateTime.ParseExact(date.Groups[1].Value, "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
        Assert.InRange(guestTime, DateTime.UtcNow - ClockTolerance, DateTime.UtcNow + ClockTolerance);
        Assert.Contains("i8042 self-test: passed (0x55)", stdout, StringComparison.Ordinal);
        Assert.Contains($"{DemoGuest.DevicesPrefix} com1 rtc i8042 pic pit", stdout, StringComparison.Ordinal);
        Assert.Equal(string.Empty, stderr);
    }

    [Fact]
    public async Task Demo_boots_on_the_backend_auto_picks_and_logs_the_choice()
    {
        string expected = new BackendCatalog().IsAvailable(BackendKind.Kvm, out _) ? "kvm" : "emulator";

        var (code, stdout, stderr) = await ActorVmmProcess.RunAsync(_dir, "run", "--log-level", "information");

        Assert.True(code == ExitCodes.Success, $"exit {code}: {stderr}");
        Assert.Contains(DemoGuest.Banner, stdout, StringComparison.Ordinal);
        Assert.Contains($"{DemoGuest.DevicesPrefix} com1 rtc i8042 pic pit", stdout, StringComparison.Ordinal);
        Assert.Contains($"Backend {expected} chosen (auto:", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Console_log_gets_a_copy_of_the_guest_console_and_console_none_hides_it()
    {
        string log = Path.Combine(_dir, "console.log");

        var (code, stdout, _) = await ActorVmmProcess.RunAsync(_dir, "run", "--backend", "emulator", "--console", "none", "--console-log", log);

        Assert.Equal(ExitCodes.Success, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Contains(DemoGuest.Banner, await File.ReadAllTextAsync(log), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logs_go_to_stderr_and_never_into_the_guest_console()
    {
        var (code, stdout, stderr) = await ActorVmmProcess.RunAsync(_dir, "run", "--backend", "emulator", "--log-level", "debug");

        Assert.Equal(ExitCodes.Success, code);
        Assert.Contains("Backend emulator chosen", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("[INF]", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("[DBG]", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(DemoGuest.Banner, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Akka_prints_nothing_on_the_guest_console_even_when_config_asks_for_its_stdout_logger()
    {
        // Akka's standard-out logger runs before the Serilog bridge starts and after it stops; at DEBUG
        // it would print its start-up and shut-down lines, in Akka's own "[DEBUG][date]" format.
        string config = Path.Combine(_dir, "loud.hocon");
        await File.WriteAllTextAsync(config, "akka.loglevel = DEBUG\nakka.stdout-loglevel = DEBUG\n");

        var (code, stdout, stderr) = await ActorVmmProcess.RunAsync(_dir, "run", "--backend", "emulator", "--config", config, "--log-level", "debug");

        Assert.True(code == ExitCodes.Success, $"exit {code}: {stderr}");
        Assert.Contains(DemoGuest.Banner, stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("[DEBUG]", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("[INFO]", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("akka://", stdout, StringComparison.Ordinal);
        Assert.Contains("akka://actorvmm", stderr, StringComparison.Ordinal);
    }

    [GeneratedRegex(DemoGuest.DatePrefix + @"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})")]
    private static partial Regex DateLine();
}
