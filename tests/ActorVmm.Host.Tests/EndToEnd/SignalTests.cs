using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using ActorVmm.Host.Cli;
using ActorVmm.Host.Control;
using ActorVmm.Host.Terminal;
using ActorVmm.Host.Tests.TestImages;

namespace ActorVmm.Host.Tests.EndToEnd;

/// <summary>
/// One rule for SIGINT, SIGTERM and SIGHUP: the terminal is restored, the control socket removed,
/// and the exit code is 128 + the signal. <c>run</c> is tested on a real terminal: script(1) gives
/// it a pseudo-terminal, and the shell inside prints the exit code and then <c>stty -a</c>, the
/// terminal's mode after actorvmm is gone.
/// </summary>
public sealed partial class SignalTests : IDisposable
{
    private const int Sighup = 1;
    private const int Sigint = 2;
    private const int Sigterm = 15;
    private static readonly TimeSpan ExitWait = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("actorvmm-sig-").FullName;

    private string SocketDirectory => Path.Combine(_dir, "actorvmm");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(Sigint, false)]
    [InlineData(Sigterm, false)]
    [InlineData(Sigterm, true)]
    [InlineData(Sighup, false)]
    [InlineData(Sighup, true)]
    public async Task A_stop_signal_restores_the_terminal_removes_the_socket_and_exits_128_plus_the_signal(int signal, bool paused)
    {
        string image = Path.Combine(_dir, "spin.bin");
        await File.WriteAllBytesAsync(image, HostGuests.Spinner());
        using var terminal = PseudoTerminal.Start(_dir, $"dotnet '{ActorVmmProcess.ProgramPath}' run --image '{image}' --mem 1M --backend emulator --name sig-vm");
        await ControlSocketTests.WaitForVmAsync(_dir, "sig-vm");
        int hostPid = HostPid();
        if (paused)
        {
            var (pauseCode, _, pauseError) = await ActorVmmProcess.RunAsync(_dir, "pause", "sig-vm");
            Assert.True(pauseCode == ExitCodes.Success, pauseError);
        }

        Assert.Equal(0, TestLibc.Kill(hostPid, signal));
        string output = await terminal.WaitForOutputAsync(ExitWait);

        Assert.Contains($"exit={ExitCodes.SignalBase + signal}", output, StringComparison.Ordinal);
        string modes = output[output.IndexOf("exit=", StringComparison.Ordinal)..];
        Assert.Matches(CanonicalMode(), modes);
        Assert.Matches(Echo(), modes);
        Assert.Empty(Directory.GetFiles(SocketDirectory, "*" + ControlPaths.SocketExtension));
    }

    [Fact]
    public async Task The_keypad_mode_dotnet_sets_is_reset_when_actorvmm_exits()
    {
        string image = Path.Combine(_dir, "hello.bin");
        await File.WriteAllBytesAsync(image, ActorVmm.TestGuests.Guests.SerialHello("keypad\n", 0));
        using var terminal = PseudoTerminal.Start(_dir, $"dotnet '{ActorVmmProcess.ProgramPath}' run --image '{image}' --mem 1M --backend emulator");

        string output = await terminal.WaitForOutputAsync(ExitWait);
        string session = output[..output.IndexOf("exit=", StringComparison.Ordinal)];

        Assert.Contains("exit=0", output, StringComparison.Ordinal);
        int transmit = session.LastIndexOf(Encoding.ASCII.GetString(TerminalKeypad.Transmit), StringComparison.Ordinal);
        int reset = session.LastIndexOf(Encoding.ASCII.GetString(TerminalKeypad.Reset), StringComparison.Ordinal);
        Assert.True(transmit >= 0, "the terminal never saw the keypad switched on, so this test proves nothing here");
        Assert.True(reset > transmit, "keypad transmit mode was left on after actorvmm exited");
    }

    [Theory]
    [InlineData(Sigint)]
    [InlineData(Sigterm)]
    [InlineData(Sighup)]
    public async Task A_stop_signal_ends_a_fleet_with_128_plus_the_signal_and_no_socket(int signal)
    {
        string image = Path.Combine(_dir, "spin.bin");
        await File.WriteAllBytesAsync(image, HostGuests.Spinner());
        using var fleet = ActorVmmProcess.Start(_dir, "fleet", "--count", "2", "--image", image, "--backend", "emulator", "--console-dir", Path.Combine(_dir, "consoles"));
        await ControlSocketTests.WaitForVmAsync(_dir, "vm0001");

        fleet.Signal(signal);

        Assert.Equal(ExitCodes.SignalBase + signal, await fleet.WaitForExitAsync(ExitWait));
        Assert.Contains("VMs started: 2 of 2", fleet.Stdout, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(SocketDirectory, "*" + ControlPaths.SocketExtension));
    }

    private int HostPid()
    {
        string socket = Assert.Single(Directory.GetFiles(SocketDirectory, "*" + ControlPaths.SocketExtension));
        return int.Parse(Path.GetFileNameWithoutExtension(socket), System.Globalization.CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"(?<![-\w])icanon\b")]
    private static partial Regex CanonicalMode();

    [GeneratedRegex(@"(?<![-\w])echo\b")]
    private static partial Regex Echo();


    /// <summary>A shell command on a pseudo-terminal (script(1)); the shell prints "exit=N" and stty -a after it.</summary>
    private sealed class PseudoTerminal : IDisposable
    {
        private readonly Process _script;
        private readonly Task<string> _output;

        private PseudoTerminal(Process script)
        {
            _script = script;
            _output = script.StandardOutput.ReadToEndAsync();
        }

        public static PseudoTerminal Start(string runtimeDir, string command)
        {
            var info = new ProcessStartInfo("script")
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string arg in new[] { "-q", "-f", "-e", "-c", $"{command}; echo \"exit=$?\"; stty -a", "/dev/null" })
            {
                info.ArgumentList.Add(arg);
            }

            info.Environment["XDG_RUNTIME_DIR"] = runtimeDir;
            info.Environment["TERM"] = "xterm";
            info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            return new PseudoTerminal(Process.Start(info) ?? throw new InvalidOperationException("script(1) did not start"));
        }

        /// <summary>Everything the terminal showed, once the shell ended.</summary>
        public async Task<string> WaitForOutputAsync(TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            try
            {
                await _script.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"the terminal session did not end within {timeout.TotalSeconds} s");
            }

            return await _output;
        }

        public void Dispose()
        {
            if (!_script.HasExited)
            {
                _script.Kill(entireProcessTree: true);
            }

            _script.Dispose();
        }
    }
}
