using ActorVmm.Host.Interop;

namespace ActorVmm.Host.Terminal;

/// <summary>
/// Puts an interactive stdin into raw mode for the guest console (keys go to the guest unbuffered,
/// unechoed) and restores the saved mode on dispose, on process exit and after unhandled exceptions,
/// so the user's terminal is never left raw. Ctrl-C still raises SIGINT (ISIG stays on) so it can
/// stop the VM cleanly, and output keeps its "\n" → "\r\n" translation (OPOST stays on).
/// </summary>
public sealed class RawTerminal : IDisposable
{
    private const int StdinFd = 0;
    private readonly Libc.termios _saved;
    private int _restored;

    private RawTerminal(Libc.termios saved)
    {
        _saved = saved;
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
        AppDomain.CurrentDomain.UnhandledException += OnUnhandledException;
    }

    /// <summary>True when stdin is a terminal (not a pipe or file).</summary>
    public static bool StdinIsTerminal => OperatingSystem.IsLinux() && Libc.isatty(StdinFd) == 1;

    /// <summary>Enters raw mode when stdin is a terminal; returns null (nothing to restore) otherwise.</summary>
    public static RawTerminal? EnterIfInteractive()
    {
        if (!StdinIsTerminal || Libc.tcgetattr(StdinFd, out var saved) != 0)
        {
            return null;
        }

        var raw = saved;
        Libc.cfmakeraw(ref raw);
        raw.c_lflag |= Libc.ISIG;
        raw.c_oflag |= Libc.OPOST;
        var terminal = new RawTerminal(saved);
        if (Libc.tcsetattr(StdinFd, Libc.TCSANOW, raw) != 0)
        {
            terminal.Dispose();
            return null;
        }

        return terminal;
    }

    /// <summary>Restores the saved terminal mode (once).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _restored, 1) != 0)
        {
            return;
        }

        Libc.tcsetattr(StdinFd, Libc.TCSANOW, _saved);
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        AppDomain.CurrentDomain.UnhandledException -= OnUnhandledException;
    }

    private void OnProcessExit(object? sender, EventArgs e) => Dispose();

    private void OnUnhandledException(object? sender, UnhandledExceptionEventArgs e) => Dispose();
}
