using ActorVmm.Host.Interop;

namespace ActorVmm.Host.Terminal;

/// <summary>
/// .NET's console, once used with a terminal, switches it to application keypad mode (terminfo
/// smkx, "ESC [ ? 1 h ESC =") and never switches it back, so after actorvmm exits the shell's
/// arrow keys and keypad send the wrong codes. This writes the reset (rmkx, "ESC [ ? 1 l ESC >",
/// the same on every VT100-compatible terminal) when the process exits, to the descriptor .NET
/// used: stdout when it is a terminal, else stdin.
/// </summary>
public static class TerminalKeypad
{
    /// <summary>DECCKM off (cursor keys send ANSI codes) and DECKPNM (numeric keypad).</summary>
    public static ReadOnlySpan<byte> Reset => "\e[?1l\e>"u8;

    /// <summary>What .NET writes to enter application keypad mode (xterm, screen, tmux, vt100 terminfo).</summary>
    public static ReadOnlySpan<byte> Transmit => "\e[?1h\e="u8;

    private const int StdinFd = 0;
    private const int StdoutFd = 1;
    private static int s_registered;

    /// <summary>Arranges for the reset at process exit (once per process).</summary>
    public static void ResetAtExit()
    {
        if (Interlocked.Exchange(ref s_registered, 1) == 0)
        {
            AppDomain.CurrentDomain.ProcessExit += (_, _) => ResetNow();
        }
    }

    /// <summary>Writes the reset to the terminal, if there is one and it is not a dumb one.</summary>
    public static void ResetNow()
    {
        string? term = Environment.GetEnvironmentVariable("TERM");
        if (string.IsNullOrEmpty(term) || term == "dumb")
        {
            return;
        }

        int fd = Libc.isatty(StdoutFd) == 1 ? StdoutFd : Libc.isatty(StdinFd) == 1 ? StdinFd : -1;
        if (fd >= 0)
        {
            _ = Libc.write(fd, Reset, (nuint)Reset.Length);
        }
    }
}
