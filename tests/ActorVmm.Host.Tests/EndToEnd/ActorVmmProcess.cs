using System.Diagnostics;
using System.Text;

namespace ActorVmm.Host.Tests.EndToEnd;

/// <summary>Runs the built program (<c>dotnet actorvmm.dll ...</c>) as a separate process with its own runtime directory.</summary>
internal sealed class ActorVmmProcess : IDisposable
{
    /// <summary>The program as built for users (the Host's output folder, copied to program/ by the test project).</summary>
    public static string ProgramPath => Path.Combine(AppContext.BaseDirectory, "program", "actorvmm.dll");

    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Lock _lock = new();

    private ActorVmmProcess(Process process) => _process = process;

    /// <summary>The process id (it names the host's control socket; /proc/PID/status).</summary>
    public int Id => _process.Id;

    /// <summary>True once the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The write end of the process's stdin pipe.</summary>
    public Stream StdinPipe => _process.StandardInput.BaseStream;

    /// <summary>The read end of the process's stdout pipe, for a process started with <see cref="StartReadingStdoutYourself"/>.</summary>
    public Stream StdoutPipe => _process.StandardOutput.BaseStream;

    /// <summary>Everything the process wrote to stdout so far.</summary>
    public string Stdout
    {
        get
        {
            lock (_lock)
            {
                return _stdout.ToString();
            }
        }
    }

    /// <summary>Everything the process wrote to stderr so far.</summary>
    public string Stderr
    {
        get
        {
            lock (_lock)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Starts actorvmm with <paramref name="args"/>; control sockets go under <paramref name="runtimeDir"/>.</summary>
    public static ActorVmmProcess Start(string runtimeDir, params string[] args) => Start(runtimeDir, new Dictionary<string, string>(), args);

    /// <summary>Starts actorvmm with extra environment variables.</summary>
    public static ActorVmmProcess Start(string runtimeDir, IReadOnlyDictionary<string, string> environment, params string[] args) =>
        Start(runtimeDir, environment, [], args);

    /// <summary>Starts actorvmm under <paramref name="launcher"/> (a command that runs the rest of its arguments, like prlimit).</summary>
    public static ActorVmmProcess Start(string runtimeDir, IReadOnlyDictionary<string, string> environment, string[] launcher, params string[] args) =>
        Start(runtimeDir, environment, launcher, readStdout: true, args);

    /// <summary>
    /// Starts actorvmm without reading its stdout: the test reads <see cref="StdoutPipe"/> as raw bytes, slowly, not at all
    /// (a stalled terminal), or closes it (a reader that went away). Stderr is still collected.
    /// </summary>
    public static ActorVmmProcess StartReadingStdoutYourself(string runtimeDir, params string[] args) =>
        Start(runtimeDir, new Dictionary<string, string>(), [], readStdout: false, args);

    private static ActorVmmProcess Start(string runtimeDir, IReadOnlyDictionary<string, string> environment, string[] launcher, bool readStdout, string[] args)
    {
        var info = new ProcessStartInfo(launcher.Length > 0 ? launcher[0] : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string arg in launcher.Skip(1).Concat(launcher.Length > 0 ? ["dotnet"] : []))
        {
            info.ArgumentList.Add(arg);
        }

        info.ArgumentList.Add(ProgramPath);
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["XDG_RUNTIME_DIR"] = runtimeDir;
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        var process = new Process { StartInfo = info };
        var runner = new ActorVmmProcess(process);
        process.OutputDataReceived += (_, e) => runner.Append(runner._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => runner.Append(runner._stderr, e.Data);
        process.Start();
        if (readStdout)
        {
            process.BeginOutputReadLine();
        }

        process.BeginErrorReadLine();
        return runner;
    }

    /// <summary>Runs actorvmm to completion and returns its exit code.</summary>
    public static Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string runtimeDir, params string[] args) =>
        RunAsync(runtimeDir, new Dictionary<string, string>(), args);

    /// <summary>Runs actorvmm to completion with extra environment variables.</summary>
    public static Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string runtimeDir, IReadOnlyDictionary<string, string> environment, params string[] args) =>
        RunAsync(runtimeDir, environment, [], args);

    /// <summary>Runs actorvmm to completion under <paramref name="launcher"/>.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string runtimeDir, IReadOnlyDictionary<string, string> environment, string[] launcher, params string[] args)
    {
        using var process = Start(runtimeDir, environment, launcher, args);
        int code = await process.WaitForExitAsync(DefaultTimeout);
        return (code, process.Stdout, process.Stderr);
    }

    /// <summary>Waits for the process to end (killing it after <paramref name="timeout"/>) and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"actorvmm did not exit within {timeout.TotalSeconds} s; stdout: {Stdout}; stderr: {Stderr}");
        }

        // The parameterless wait drains the redirected output.
        await _process.WaitForExitAsync();
        return _process.ExitCode;
    }

    /// <summary>Writes bytes to the process's stdin and flushes.</summary>
    public async Task WriteStdinAsync(byte[] bytes)
    {
        await _process.StandardInput.BaseStream.WriteAsync(bytes);
        await _process.StandardInput.BaseStream.FlushAsync();
    }

    /// <summary>Sends a POSIX signal (SIGINT for Ctrl-C) to the process.</summary>
    public void Signal(int signal) => _ = Kill(_process.Id, signal);

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);

    private void Append(StringBuilder target, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lock)
        {
            target.AppendLine(line);
        }
    }
}
