using ActorVmm.Host.Cli;
using ActorVmm.Host.Tests.TestImages;
using ActorVmm.TestGuests;

namespace ActorVmm.Host.Tests.EndToEnd;

/// <summary><c>actorvmm run</c> as a process, on the emulator.</summary>
public sealed class RunTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("actorvmm-run-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(42)]
    public async Task The_guest_exit_status_becomes_the_process_exit_code(byte status)
    {
        string image = await WriteImage("hello.bin", Guests.SerialHello("exit test\n", status));

        var (code, _, stderr) = await ActorVmmProcess.RunAsync(_dir, "run", "--image", image, "--mem", "1M", "--backend", "emulator");

        Assert.True(status == code, $"exit code {code}, stderr: {stderr}");
    }

    [Fact]
    public async Task A_vm_that_dies_exits_non_zero_with_one_clear_line()
    {
        string image = await WriteImage("crash.bin", HostGuests.Crasher());

        var (code, _, stderr) = await ActorVmmProcess.RunAsync(_dir, "run", "--image", image, "--mem", "1M", "--backend", "emulator", "--name", "crashy");

        Assert.Equal(ExitCodes.VmDied, code);
        Assert.Contains("actorvmm: VM 'crashy' died:", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Debug_ioport_logs_unhandled_port_writes_only_when_asked()
    {
        const ushort UnclaimedPort = 0x510;
        string image = await WriteImage("unclaimed.bin", HostGuests.WriteUnclaimedPort(UnclaimedPort));

        var (quietCode, _, quiet) = await ActorVmmProcess.RunAsync(_dir, "run", "--image", image, "--mem", "1M", "--backend", "emulator");
        var (debugCode, _, debug) = await ActorVmmProcess.RunAsync(_dir, "run", "--image", image, "--mem", "1M", "--backend", "emulator", "--debug-ioport");

        Assert.Equal(0, quietCode);
        Assert.Equal(0, debugCode);
        Assert.DoesNotContain("Unhandled Pio", quiet, StringComparison.Ordinal);
        Assert.Contains("Unhandled Pio Write", debug, StringComparison.Ordinal);
        Assert.Contains(UnclaimedPort.ToString("X", System.Globalization.CultureInfo.InvariantCulture), debug, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sigint_stops_a_running_guest_cleanly()
    {
        const int Sigint = 2;
        string image = await WriteImage("spin.bin", HostGuests.Spinner());
        using var process = ActorVmmProcess.Start(_dir, "run", "--image", image, "--mem", "1M", "--backend", "emulator", "--name", "spinner");
        await ControlSocketTests.WaitForVmAsync(_dir, "spinner");

        process.Signal(Sigint);

        Assert.Equal(ExitCodes.Interrupted, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Empty(Directory.GetFiles(Path.Combine(_dir, "actorvmm")));
    }

    [Fact]
    public async Task Console_input_reaches_the_guest_uart()
    {
        const byte Typed = (byte)'A';
        string image = await WriteImage("typed.bin", HostGuests.ExitWithTypedByte());
        using var process = ActorVmmProcess.Start(_dir, "run", "--image", image, "--mem", "1M", "--backend", "emulator");

        await process.WriteStdinAsync([Typed]);

        Assert.Equal(Typed, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_guest_reset_ends_the_vm_with_exit_0_and_one_line_unless_reboot_restarts_it()
    {
        const string Banner = "boot!";
        const int Sigint = 2;
        string image = await WriteImage("reset.bin", HostGuests.PrintThenReset(Banner + "\n"));

        var (code, stdout, stderr) = await ActorVmmProcess.RunAsync(_dir, "run", "--image", image, "--mem", "1M", "--backend", "emulator", "--name", "resetter");

        Assert.Equal(ExitCodes.Success, code);
        Assert.Equal(Banner, stdout.Trim());
        Assert.Contains("actorvmm: VM 'resetter' the guest asked for a reset", Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);

        using var rebooting = ActorVmmProcess.Start(_dir, "run", "--image", image, "--mem", "1M", "--backend", "emulator", "--reboot");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (CountOf(rebooting.Stdout, Banner) < 3 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }

        Assert.True(CountOf(rebooting.Stdout, Banner) >= 3, $"the guest did not boot again after its reset: {rebooting.Stdout} {rebooting.Stderr}");
        rebooting.Signal(Sigint);
        Assert.Equal(ExitCodes.Interrupted, await rebooting.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    private static int CountOf(string text, string part) => (text.Length - text.Replace(part, string.Empty, StringComparison.Ordinal).Length) / part.Length;

    private async Task<string> WriteImage(string name, byte[] content)
    {
        string path = Path.Combine(_dir, name);
        await File.WriteAllBytesAsync(path, content);
        return path;
    }
}
