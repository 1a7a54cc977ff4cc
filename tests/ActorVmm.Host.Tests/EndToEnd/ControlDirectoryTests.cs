using ActorVmm.Host.Cli;
using ActorVmm.Host.Control;
using ActorVmm.Host.Interop;
using ActorVmm.TestGuests;

namespace ActorVmm.Host.Tests.EndToEnd;

/// <summary>
/// Without XDG_RUNTIME_DIR the control directory is TMPDIR/actorvmm-UID, which another user can
/// create first. A real host process must refuse a directory it does not own or that is a symbolic
/// link, and clients must not trust one either.
/// </summary>
public sealed class ControlDirectoryTests : IDisposable
{
    private const uint Nobody = 65534;
    private readonly string _tmp = Directory.CreateTempSubdirectory("actorvmm-ctldir-").FullName;

    private string ControlDirectory => Path.Combine(_tmp, $"actorvmm-{Libc.geteuid()}");

    // XDG_RUNTIME_DIR empty means unset; TMPDIR moves /tmp into this test's directory.
    private Dictionary<string, string> Environment => new() { ["XDG_RUNTIME_DIR"] = string.Empty, ["TMPDIR"] = _tmp };

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    [Fact]
    public async Task A_host_refuses_a_control_directory_owned_by_another_user()
    {
        Directory.CreateDirectory(ControlDirectory, ControlPaths.DirectoryMode);
        Assert.Equal(0, TestLibc.Chown(ControlDirectory, Nobody, Nobody));
        string image = await WriteGuestAsync();

        var (code, stdout, stderr) = await ActorVmmProcess.RunAsync(_tmp, Environment, "run", "--image", image, "--mem", "1M", "--backend", "emulator", "--console", "none");

        Assert.Equal(ExitCodes.Unavailable, code);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"is owned by uid {Nobody}", line, StringComparison.Ordinal);
        Assert.Equal(string.Empty, stdout);
        Assert.Empty(Directory.GetFileSystemEntries(ControlDirectory));
    }

    [Fact]
    public async Task Clients_refuse_a_control_directory_owned_by_another_user()
    {
        Directory.CreateDirectory(ControlDirectory, ControlPaths.DirectoryMode);
        Assert.Equal(0, TestLibc.Chown(ControlDirectory, Nobody, Nobody));

        var (listCode, _, listError) = await ActorVmmProcess.RunAsync(_tmp, Environment, "list");
        var (stopCode, _, stopError) = await ActorVmmProcess.RunAsync(_tmp, Environment, "stop", "vm1");

        Assert.Equal(ExitCodes.Unavailable, listCode);
        Assert.Contains($"is owned by uid {Nobody}", listError, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Unavailable, stopCode);
        Assert.Contains($"is owned by uid {Nobody}", stopError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_host_refuses_a_control_directory_that_is_a_symbolic_link()
    {
        string target = Path.Combine(_tmp, "elsewhere");
        Directory.CreateDirectory(target, ControlPaths.DirectoryMode);
        File.CreateSymbolicLink(ControlDirectory, target);
        string image = await WriteGuestAsync();

        var (code, stdout, stderr) = await ActorVmmProcess.RunAsync(_tmp, Environment, "run", "--image", image, "--mem", "1M", "--backend", "emulator", "--console", "none");

        Assert.Equal(ExitCodes.Unavailable, code);
        Assert.Contains("is a symbolic link", Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
        Assert.Equal(string.Empty, stdout);
        Assert.Empty(Directory.GetFileSystemEntries(target));
    }

    [Fact]
    public async Task Without_xdg_runtime_dir_a_host_creates_an_owner_only_directory_and_runs()
    {
        string image = await WriteGuestAsync();

        var (code, _, stderr) = await ActorVmmProcess.RunAsync(_tmp, Environment, "run", "--image", image, "--mem", "1M", "--backend", "emulator", "--console", "none");

        Assert.True(code == 0, $"exit {code}: {stderr}");
        Assert.Equal(ControlPaths.DirectoryMode, File.GetUnixFileMode(ControlDirectory));
    }

    private async Task<string> WriteGuestAsync()
    {
        string path = Path.Combine(_tmp, "hello.bin");
        await File.WriteAllBytesAsync(path, Guests.SerialHello("hello\n", 0));
        return path;
    }

}
