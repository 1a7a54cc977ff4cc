using ActorVmm.Host.Control;
using ActorVmm.Host.Tests.TestImages;

namespace ActorVmm.Host.Tests.EndToEnd;

/// <summary>An <c>actorvmm run</c> process whose guest spins until stopped, with its control socket found.</summary>
internal sealed class SpinningHost : IDisposable
{
    private SpinningHost(ActorVmmProcess process, string socketPath, string name)
    {
        Process = process;
        SocketPath = socketPath;
        Name = name;
    }

    /// <summary>The host process.</summary>
    public ActorVmmProcess Process { get; }

    /// <summary>Its control socket.</summary>
    public string SocketPath { get; }

    /// <summary>Its VM's name.</summary>
    public string Name { get; }

    /// <summary>Starts a spinning VM called <paramref name="name"/> with its control socket under <paramref name="runtimeDir"/>.</summary>
    public static async Task<SpinningHost> StartAsync(string runtimeDir, string name)
    {
        string image = Path.Combine(runtimeDir, $"spin-{name}.bin");
        await File.WriteAllBytesAsync(image, HostGuests.Spinner());
        var process = ActorVmmProcess.Start(runtimeDir, "run", "--image", image, "--mem", "1M", "--backend", "emulator", "--name", name, "--console", "none");
        try
        {
            await ControlSocketTests.WaitForVmAsync(runtimeDir, name);
        }
        catch
        {
            process.Dispose();
            throw;
        }

        return new SpinningHost(process, Path.Combine(runtimeDir, "actorvmm", process.Id + ControlPaths.SocketExtension), name);
    }

    /// <summary>Asks the host for its VMs over a fresh connection.</summary>
    public Task<ControlResponse> ListAsync() => ControlClient.SendAsync(SocketPath, new ControlRequest("list"), CancellationToken.None);

    /// <summary>The host's resident set size from /proc.</summary>
    public long ResidentBytes()
    {
        string line = File.ReadLines($"/proc/{Process.Id}/status").Single(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    public void Dispose() => Process.Dispose();
}
