using ActorVmm.Host.Cli;
using ActorVmm.Host.Interop;
using Microsoft.Win32.SafeHandles;
using Serilog;

namespace ActorVmm.Host.Terminal;

/// <summary>
/// The guest console's host side for <c>actorvmm run</c>: stdout (with <c>--console serial</c>) and the
/// <c>--console-log</c> copy behind one <see cref="TeeStream"/>. A failing log is reported once and dropped; the
/// terminal keeps every byte. When stdout itself fails, <see cref="Broken"/> completes with the exit code run ends
/// with: 141 for a broken pipe (128 + SIGPIPE, as a Unix tool killed by it), 74 for another write error.
/// </summary>
public sealed class HostConsole : IDisposable
{
    private const string StdoutName = "stdout";
    private const int StdoutFd = 1;

    private readonly Stream? _stdout;
    private readonly FileStream? _log;
    private readonly TaskCompletionSource<int> _broken = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private HostConsole(Stream? stdout, FileStream? log, ILogger logger, TextWriter error)
    {
        _stdout = stdout;
        _log = log;
        TeeTarget[] targets = [.. new[] { stdout is null ? null : new TeeTarget(StdoutName, stdout), log is null ? null : new TeeTarget(log.Name, log) }.OfType<TeeTarget>()];
        Output = targets.Length == 0 ? null : new TeeStream(targets, (target, why) => OnTargetFailed(target, why, logger, error));
    }

    /// <summary>Where the console sink writes; null when the guest console goes nowhere.</summary>
    public Stream? Output { get; }

    /// <summary>Completes, with run's exit code, when stdout can no longer be written.</summary>
    public Task<int> Broken => _broken.Task;

    /// <summary>Opens the console's targets.</summary>
    /// <param name="toStdout">Whether the guest console goes to stdout (<c>--console serial</c>).</param>
    /// <param name="logPath">The <c>--console-log</c> file (created or truncated), or null.</param>
    /// <param name="logger">Where a failing log is reported (one warning).</param>
    /// <param name="error">Where a failing stdout is reported (one line), except a broken pipe, which ends run quietly as Unix tools do.</param>
    public static HostConsole Open(bool toStdout, string? logPath, ILogger logger, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(error);

        // Unbuffered: the tee writes in bulk and flushes each write, and nothing is left to fail when it is disposed.
        var log = logPath is null ? null : new FileStream(logPath, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 0);

        // Not Console.OpenStandardOutput: its stream ignores EPIPE and would let a guest print into a closed pipe forever.
        var stdout = toStdout ? new FileStream(new SafeFileHandle(StdoutFd, ownsHandle: false), FileAccess.Write, bufferSize: 0) : null;
        return new HostConsole(stdout, log, logger, error);
    }

    /// <summary>True when <paramref name="ex"/> is a write to a pipe whose reader has gone (EPIPE).</summary>
    public static bool IsBrokenPipe(Exception ex) => ex is IOException { HResult: Libc.EPIPE };

    /// <inheritdoc />
    public void Dispose()
    {
        Output?.Dispose();
        _stdout?.Dispose();
        _log?.Dispose();
    }

    private void OnTargetFailed(TeeTarget target, Exception why, ILogger logger, TextWriter error)
    {
        if (!ReferenceEquals(target.Stream, _stdout))
        {
            logger.Warning("Console log {Path} failed ({Error}); the guest console goes on without it", target.Name, why.Message);
            return;
        }

        if (IsBrokenPipe(why))
        {
            _broken.TrySetResult(ExitCodes.BrokenPipe);
            return;
        }

        error.WriteLine($"actorvmm: cannot write the guest console to stdout: {why.Message}");
        _broken.TrySetResult(ExitCodes.IoError);
    }
}
