using System.Diagnostics;

namespace ActorVmm.Kvm.Tests.Tap;

/// <summary>A fact that needs root, /dev/net/tun and the <c>ip</c> tool (it creates a tap and configures it); skipped with the reason elsewhere.</summary>
public sealed class TapFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> SkipReason = new(Probe);

    /// <summary>Skips the test where a tap cannot be made.</summary>
    public TapFactAttribute() => Skip = SkipReason.Value;

    /// <summary>Null when taps can be created and configured here, else why not.</summary>
    public static string? Probe()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            return "Skipped: creating and configuring a tap needs root (CAP_NET_ADMIN)";
        }

        if (!File.Exists("/dev/net/tun"))
        {
            return "Skipped: /dev/net/tun is missing (no tun module)";
        }

        try
        {
            using var ip = Process.Start(new ProcessStartInfo("ip", "-V") { RedirectStandardOutput = true, RedirectStandardError = true });
            ip?.WaitForExit();
            return ip is { ExitCode: 0 } ? null : "Skipped: the ip tool (iproute2) does not run";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "Skipped: the ip tool (iproute2) is not installed";
        }
    }
}
