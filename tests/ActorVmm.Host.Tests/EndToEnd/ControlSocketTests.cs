using ActorVmm.Host.Cli;
using ActorVmm.Host.Control;
using ActorVmm.Host.Tests.TestImages;

namespace ActorVmm.Host.Tests.EndToEnd;

/// <summary><c>actorvmm list|stat|pause|resume|stop</c> against a running <c>actorvmm run</c>.</summary>
public sealed class ControlSocketTests : IDisposable
{
    private static readonly TimeSpan StartWait = TimeSpan.FromSeconds(30);
    private readonly string _dir = Directory.CreateTempSubdirectory("actorvmm-ctl-e2e-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task The_control_commands_list_pause_resume_and_stop_a_running_vm()
    {
        string image = Path.Combine(_dir, "spin.bin");
        await File.WriteAllBytesAsync(image, HostGuests.Spinner());
        using var host = ActorVmmProcess.Start(_dir, "run", "--image", image, "--mem", "1M", "--backend", "emulator", "--name", "ctl-vm", "--console", "none");
        await WaitForVmAsync(_dir, "ctl-vm");

        var list = await Control("list");
        Assert.Matches(@"(?m)^ctl-vm\s+running\s+emulator\s+1M\s+1\s", list);

        Assert.Equal("ctl-vm: paused", (await Control("pause", "ctl-vm")).Trim());
        string paused = await Control("stat", "ctl-vm");
        Assert.Contains("state: paused", paused, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^pci:\n  00:00\.0 host-bridge \[0600\] 8086:0d57 ", paused);
        long exitsWhilePaused = ExitsIn(paused);
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Assert.Equal(exitsWhilePaused, ExitsIn(await Control("stat", "ctl-vm")));

        Assert.Equal("ctl-vm: running", (await Control("resume", "ctl-vm")).Trim());
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Assert.True(ExitsIn(await Control("stat", "ctl-vm")) > exitsWhilePaused, "a resumed guest runs again");

        Assert.Equal("ctl-vm: stopped", (await Control("stop", "ctl-vm")).Trim());
        Assert.Equal(ExitCodes.Success, await host.WaitForExitAsync(StartWait));
    }

    [Fact]
    public async Task Control_commands_for_an_unknown_vm_fail_clearly()
    {
        var (code, _, stderr) = await ActorVmmProcess.RunAsync(_dir, "pause", "nobody");

        Assert.Equal(ExitCodes.Unavailable, code);
        Assert.Contains("no running VM called 'nobody'", stderr, StringComparison.Ordinal);
    }

    /// <summary>Waits until a host in <paramref name="runtimeDir"/> lists <paramref name="name"/>.</summary>
    internal static async Task WaitForVmAsync(string runtimeDir, string name)
    {
        var deadline = DateTime.UtcNow + StartWait;
        while (DateTime.UtcNow < deadline)
        {
            string dir = Path.Combine(runtimeDir, "actorvmm");
            foreach (string socket in Directory.Exists(dir) ? Directory.GetFiles(dir, "*" + ControlPaths.SocketExtension) : [])
            {
                try
                {
                    var response = await ControlClient.SendAsync(socket, new ControlRequest("list"), CancellationToken.None);
                    if (response.Vms?.Any(v => v.Name == name) == true)
                    {
                        return;
                    }
                }
                catch (IOException)
                {
                    // Not listening yet.
                }
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }

        throw new TimeoutException($"no host listed VM '{name}' within {StartWait.TotalSeconds} s");
    }

    private static long ExitsIn(string stat) =>
        long.Parse(stat.Split('\n').Single(l => l.StartsWith("exits: ", StringComparison.Ordinal))["exits: ".Length..]);

    private async Task<string> Control(params string[] args)
    {
        var (code, stdout, stderr) = await ActorVmmProcess.RunAsync(_dir, args);
        Assert.True(code == ExitCodes.Success, $"actorvmm {string.Join(' ', args)} exited {code}: {stderr}");
        return stdout;
    }
}
