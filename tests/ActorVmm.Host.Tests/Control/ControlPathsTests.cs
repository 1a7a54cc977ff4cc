using ActorVmm.Host.Control;
using ActorVmm.Host.Interop;
using ActorVmm.Host.Tests.EndToEnd;

namespace ActorVmm.Host.Tests.Control;

public sealed class ControlPathsTests : IDisposable
{
    private const uint Nobody = 65534;
    private const UnixFileMode Readable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private readonly string _dir = Directory.CreateTempSubdirectory("actorvmm-paths-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Setting_the_socket_mode_through_a_symbolic_link_is_refused_and_leaves_the_target_alone()
    {
        string target = Path.Combine(_dir, "victim");
        string link = Path.Combine(_dir, "1234.sock");
        File.WriteAllText(target, "not ours to chmod");
        File.SetUnixFileMode(target, Readable);
        File.CreateSymbolicLink(link, target);

        var ex = Assert.Throws<IOException>(() => ControlPaths.SetSocketMode(link));

        Assert.Contains("is a symbolic link", ex.Message, StringComparison.Ordinal);
        Assert.Equal(Readable, File.GetUnixFileMode(target));
    }

    [Fact]
    public void Setting_the_socket_mode_of_a_file_makes_it_owner_read_write()
    {
        string file = Path.Combine(_dir, "5678.sock");
        File.WriteAllText(file, string.Empty);

        ControlPaths.SetSocketMode(file);

        Assert.Equal(ControlPaths.SocketMode, File.GetUnixFileMode(file));
    }

    [Fact]
    public void A_directory_of_another_owner_is_refused_even_with_mode_0700()
    {
        string dir = Path.Combine(_dir, "theirs");
        Directory.CreateDirectory(dir, ControlPaths.DirectoryMode);
        Assert.Equal(0, TestLibc.Chown(dir, Nobody, Nobody));

        var ex = Assert.Throws<IOException>(() => ControlPaths.CheckDirectory(dir));

        Assert.Contains($"owned by uid {Nobody}, not by you (uid {Libc.geteuid()})", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_symbolic_link_to_a_good_directory_is_refused()
    {
        string real = Path.Combine(_dir, "real");
        string link = Path.Combine(_dir, "link");
        Directory.CreateDirectory(real, ControlPaths.DirectoryMode);
        File.CreateSymbolicLink(link, real);

        Assert.Contains("is a symbolic link", Assert.Throws<IOException>(() => ControlPaths.CheckDirectory(link)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_directory_others_can_enter_is_refused()
    {
        string dir = Path.Combine(_dir, "open");
        Directory.CreateDirectory(dir, ControlPaths.DirectoryMode | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);

        Assert.Contains("has mode 0711; it must be 0700", Assert.Throws<IOException>(() => ControlPaths.CheckDirectory(dir)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_own_owner_only_directory_is_accepted()
    {
        string dir = Path.Combine(_dir, "mine");
        Directory.CreateDirectory(dir, ControlPaths.DirectoryMode);

        ControlPaths.CheckDirectory(dir);
    }
}
