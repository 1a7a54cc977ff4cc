using ActorVmm.Host.Cli;
using ActorVmm.Host.Tests.TestImages;
using ActorVmm.TestGuests;

namespace ActorVmm.Host.Tests.EndToEnd;

/// <summary>VM names are unique per user across host processes, and a VM that ended says so when stopped again.</summary>
public sealed class VmNameTests : IDisposable
{
    private static readonly TimeSpan ExitWait = TimeSpan.FromSeconds(30);
    private readonly string _dir = Directory.CreateTempSubdirectory("actorvmm-names-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_second_host_cannot_run_a_vm_under_a_name_another_host_runs()
    {
        using var first = await SpinningHost.StartAsync(_dir, "twin");
        string image = Path.Combine(_dir, "hello.bin");
        await File.WriteAllBytesAsync(image, Guests.SerialHello("second twin ran\n", 0));

        var (code, stdout, stderr) = await ActorVmmProcess.RunAsync(_dir, "run", "--image", image, "--mem", "1M", "--backend", "emulator", "--name", "twin");

        Assert.Equal(ExitCodes.Usage, code);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"a VM called 'twin' is already running in another actorvmm process (pid {first.Process.Id})", line, StringComparison.Ordinal);
        Assert.Equal(string.Empty, stdout);
        Assert.Equal("running", Assert.Single((await first.ListAsync()).Vms!).State);
    }

    [Fact]
    public async Task A_name_held_by_a_killed_host_is_free_again()
    {
        const int Sigkill = 9;
        using (var killed = await SpinningHost.StartAsync(_dir, "phoenix"))
        {
            killed.Process.Signal(Sigkill);
            await killed.Process.WaitForExitAsync(ExitWait);
        }

        string image = Path.Combine(_dir, "hello.bin");
        await File.WriteAllBytesAsync(image, Guests.SerialHello("risen\n", 0));
        var (code, stdout, stderr) = await ActorVmmProcess.RunAsync(_dir, "run", "--image", image, "--mem", "1M", "--backend", "emulator", "--name", "phoenix");

        Assert.True(code == 0, $"exit {code}: {stderr}");
        Assert.Contains("risen", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_fleet_cannot_take_names_a_running_host_holds_and_says_which()
    {
        using var holder = await SpinningHost.StartAsync(_dir, "vm0001");

        var (code, stdout, stderr) = await ActorVmmProcess.RunAsync(_dir, "fleet", "--count", "3", "--backend", "emulator", "--console-dir", Path.Combine(_dir, "consoles"));

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("a VM called 'vm0001' is already running", Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
        Assert.Equal(string.Empty, stdout);
    }

    [Fact]
    public async Task Stopping_a_vm_that_already_ended_says_so()
    {
        string image = Path.Combine(_dir, "spin.bin");
        await File.WriteAllBytesAsync(image, HostGuests.Spinner());
        using var fleet = ActorVmmProcess.Start(_dir, "fleet", "--count", "2", "--image", image, "--backend", "emulator", "--console-dir", Path.Combine(_dir, "consoles"));
        await ControlSocketTests.WaitForVmAsync(_dir, "vm0001");

        var (firstCode, firstOut, firstError) = await ActorVmmProcess.RunAsync(_dir, "stop", "vm0000");
        var (againCode, _, againError) = await ActorVmmProcess.RunAsync(_dir, "stop", "vm0000");

        Assert.True(firstCode == ExitCodes.Success, $"first stop exited {firstCode}: {firstError}");
        Assert.Equal("vm0000: stopped", firstOut.Trim());
        Assert.Equal(ExitCodes.Unavailable, againCode);
        Assert.Contains("VM 'vm0000' has already ended (stopped)", againError, StringComparison.Ordinal);

        var (lastCode, _, lastError) = await ActorVmmProcess.RunAsync(_dir, "stop", "vm0001");
        Assert.True(lastCode == ExitCodes.Success, $"stop vm0001 exited {lastCode}: {lastError}");
        Assert.Equal(ExitCodes.Success, await fleet.WaitForExitAsync(ExitWait));
    }
}
