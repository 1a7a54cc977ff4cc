using System.Diagnostics;

namespace ActorVmm.Host.Tests.EndToEnd;

/// <summary>
/// A fresh network namespace with one persistent tap in it (random names), the tap's host side up with an IPv4 address
/// and IPv6 off (so the kernel sends no router solicitations), for running actorvmm under <c>ip netns exec</c>. Deleting
/// the namespace removes the tap.
/// </summary>
internal sealed class NetworkNamespace : IDisposable
{
    private NetworkNamespace(string name, string tap)
    {
        Name = name;
        Tap = tap;
    }

    /// <summary>The namespace.</summary>
    public string Name { get; }

    /// <summary>The tap interface inside it.</summary>
    public string Tap { get; }

    /// <summary>The command prefix that runs a program inside the namespace.</summary>
    public string[] Launcher => ["ip", "netns", "exec", Name];

    /// <summary>Null when namespaces and taps can be made here (root, /dev/net/tun, iproute2), else why not.</summary>
    public static string? SkipReason()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            return "Skipped: a network namespace with a tap needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN)";
        }

        if (!File.Exists("/dev/net/tun"))
        {
            return "Skipped: /dev/net/tun is missing (no tun module)";
        }

        try
        {
            var (code, output) = Run("ip", "netns", "list");
            return code == 0 ? null : $"Skipped: 'ip netns' does not work here: {output.Trim()}";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "Skipped: the ip tool (iproute2) is not installed";
        }
    }

    /// <summary>Creates the namespace and its tap with <paramref name="hostAddress"/> (CIDR) on the host side.</summary>
    public static NetworkNamespace Create(string hostAddress)
    {
        string suffix = Random.Shared.Next(0x100000).ToString("x5", System.Globalization.CultureInfo.InvariantCulture);
        var ns = new NetworkNamespace($"avmm-test-{suffix}", $"avn{suffix}");
        Check("ip", "netns", "add", ns.Name);
        try
        {
            ns.Exec("ip", "tuntap", "add", "dev", ns.Tap, "mode", "tap");
            ns.Exec("sh", "-c", $"echo 1 > /proc/sys/net/ipv6/conf/{ns.Tap}/disable_ipv6");
            ns.Exec("ip", "addr", "add", hostAddress, "dev", ns.Tap);
            ns.Exec("ip", "link", "set", ns.Tap, "up");
            return ns;
        }
        catch
        {
            ns.Dispose();
            throw;
        }
    }

    /// <summary>The tap's MAC address as the kernel reports it.</summary>
    public byte[] TapMac()
    {
        var (code, output) = Run([.. Launcher, "cat", $"/sys/class/net/{Tap}/address"]);
        Assert.True(code == 0, output);
        return Convert.FromHexString(output.Trim().Replace(":", string.Empty, StringComparison.Ordinal));
    }

    /// <inheritdoc />
    public void Dispose() => Run("ip", "netns", "del", Name);

    private void Exec(params string[] command) => Check([.. Launcher, .. command]);

    private static void Check(params string[] command)
    {
        var (code, output) = Run(command);
        Assert.True(code == 0, $"{string.Join(' ', command)}: {output}");
    }

    private static (int Code, string Output) Run(params string[] command)
    {
        var info = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in command.Skip(1))
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{command[0]} did not start");
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output + error.Result);
    }
}

/// <summary>A fact that needs a network namespace with a tap (and, with <see cref="NeedsKvm"/>, a usable /dev/kvm); skipped with the reason elsewhere.</summary>
public sealed class NetworkTapFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> TapSkip = new(NetworkNamespace.SkipReason);
    private static readonly Lazy<string?> KvmSkip = new(() =>
        new Backends.BackendCatalog().IsAvailable(Backends.BackendKind.Kvm, out string reason) ? null : $"Skipped: needs a usable /dev/kvm ({reason})");

    /// <summary>Whether the test also needs KVM.</summary>
    public bool NeedsKvm
    {
        get => false;
        init => Skip = TapSkip.Value ?? (value ? KvmSkip.Value : null);
    }

    /// <summary>Skips the test where no namespace with a tap can be made.</summary>
    public NetworkTapFactAttribute() => Skip = TapSkip.Value;
}
