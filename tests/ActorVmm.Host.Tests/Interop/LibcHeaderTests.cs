using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using ActorVmm.Host.Interop;

namespace ActorVmm.Host.Tests.Interop;

/// <summary>The host's libc constants and struct layouts against the C headers (compiled with gcc), and statx against .NET's own view of a file.</summary>
public sealed class LibcHeaderTests : IDisposable
{
    private static readonly TimeSpan CompileTimeout = TimeSpan.FromMinutes(2);
    private readonly string _dir = Directory.CreateTempSubdirectory("actorvmm-libc-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (string C, long CSharp)[] Entries =>
    [
        ("O_RDONLY", Libc.O_RDONLY), ("O_WRONLY", Libc.O_WRONLY), ("O_RDWR", Libc.O_RDWR), ("O_CREAT", Libc.O_CREAT),
        ("O_EXCL", Libc.O_EXCL), ("O_NOCTTY", Libc.O_NOCTTY), ("O_APPEND", Libc.O_APPEND), ("O_NONBLOCK", Libc.O_NONBLOCK),
        ("O_CLOEXEC", Libc.O_CLOEXEC), ("O_NOFOLLOW", Libc.O_NOFOLLOW),
        ("AT_FDCWD", Libc.AT_FDCWD), ("AT_SYMLINK_NOFOLLOW", Libc.AT_SYMLINK_NOFOLLOW), ("AT_EMPTY_PATH", Libc.AT_EMPTY_PATH),
        ("STATX_BASIC_STATS", Libc.STATX_BASIC_STATS),
        ("S_IFMT", Libc.S_IFMT), ("S_IFIFO", Libc.S_IFIFO), ("S_IFCHR", Libc.S_IFCHR), ("S_IFDIR", Libc.S_IFDIR), ("S_IFBLK", Libc.S_IFBLK),
        ("S_IFREG", Libc.S_IFREG), ("S_IFLNK", Libc.S_IFLNK), ("S_IFSOCK", Libc.S_IFSOCK),
        ("LOCK_EX", Libc.LOCK_EX), ("LOCK_NB", Libc.LOCK_NB),
        ("EWOULDBLOCK", Libc.EWOULDBLOCK), ("ENOENT", Libc.ENOENT), ("ENXIO", Libc.ENXIO), ("EISDIR", Libc.EISDIR),
        ("PROC_SUPER_MAGIC", Libc.PROC_SUPER_MAGIC), ("SYSFS_MAGIC", Libc.SYSFS_MAGIC),
        ("SOL_SOCKET", Libc.SOL_SOCKET), ("SO_PEERCRED", Libc.SO_PEERCRED),
        ("sizeof(struct statx)", Marshal.SizeOf<Libc.statx>()),
        ("offsetof(struct statx, stx_mask)", Marshal.OffsetOf<Libc.statx>(nameof(Libc.statx.stx_mask))),
        ("offsetof(struct statx, stx_uid)", Marshal.OffsetOf<Libc.statx>(nameof(Libc.statx.stx_uid))),
        ("offsetof(struct statx, stx_mode)", Marshal.OffsetOf<Libc.statx>(nameof(Libc.statx.stx_mode))),
        ("offsetof(struct statx, stx_ino)", Marshal.OffsetOf<Libc.statx>(nameof(Libc.statx.stx_ino))),
        ("offsetof(struct statx, stx_size)", Marshal.OffsetOf<Libc.statx>(nameof(Libc.statx.stx_size))),
        ("offsetof(struct statx, stx_dev_major)", Marshal.OffsetOf<Libc.statx>(nameof(Libc.statx.stx_dev_major))),
        ("offsetof(struct statx, stx_dev_minor)", Marshal.OffsetOf<Libc.statx>(nameof(Libc.statx.stx_dev_minor))),
        ("sizeof(struct statfs)", Marshal.SizeOf<Libc.statfs>()),
        ("offsetof(struct statfs, f_type)", Marshal.OffsetOf<Libc.statfs>(nameof(Libc.statfs.f_type))),
        ("sizeof(struct ucred)", Marshal.SizeOf<Libc.ucred>()),
    ];

    [Fact]
    public void Every_constant_and_struct_layout_matches_the_c_headers()
    {
        string program = """
            #define _GNU_SOURCE
            #include <errno.h>
            #include <fcntl.h>
            #include <stddef.h>
            #include <stdio.h>
            #include <sys/file.h>
            #include <sys/socket.h>
            #include <sys/stat.h>
            #include <sys/vfs.h>
            #include <linux/magic.h>
            int main(void) {

            """ + string.Concat(Entries.Select(e => $"  printf(\"%s %lld\\n\", \"{e.C}\", (long long)({e.C}));\n")) + "  return 0;\n}\n";
        var fromC = CompileAndRun(program);

        var mismatches = Entries.Where(e => fromC[e.C] != e.CSharp).Select(e => $"{e.C}: C {fromC[e.C]}, C# {e.CSharp}").ToList();
        Assert.True(mismatches.Count == 0, string.Join('\n', mismatches));
    }

    [Fact]
    public void Statx_reports_the_type_mode_owner_size_and_inode_dotnet_sees()
    {
        string file = Path.Combine(_dir, "file");
        string link = Path.Combine(_dir, "hard-link");
        File.WriteAllBytes(file, new byte[12345]);
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        Assert.Equal(0, link_(file, link));

        Assert.True(UnixFiles.TryLstat(file, out var status, out _));
        Assert.True(UnixFiles.TryLstat(link, out var linked, out _));

        Assert.Equal(Libc.S_IFREG, UnixFiles.FileType(status));
        Assert.Equal((uint)File.GetUnixFileMode(file), UnixFiles.Permissions(status));
        Assert.Equal(Libc.geteuid(), status.stx_uid);
        Assert.Equal(12345UL, status.stx_size);
        Assert.Equal(status.stx_ino, linked.stx_ino);
        Assert.True(UnixFiles.TryLstat(_dir, out var directory, out _));
        Assert.NotEqual(status.stx_ino, directory.stx_ino);
        Assert.Equal(Libc.S_IFDIR, UnixFiles.FileType(directory));
    }

    [DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int link_(string oldpath, string newpath);

    private Dictionary<string, long> CompileAndRun(string source)
    {
        string c = Path.Combine(_dir, "check.c");
        string exe = Path.Combine(_dir, "check");
        File.WriteAllText(c, source);
        Run("gcc", ["-std=gnu11", "-Wall", "-Werror", "-o", exe, c], out _);
        Run(exe, [], out string output);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToDictionary(
            line => line[..line.LastIndexOf(' ')],
            line => long.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture),
            StringComparer.Ordinal);
    }

    private static void Run(string file, string[] args, out string stdout)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var stderr = process.StandardError.ReadToEndAsync();
        stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(CompileTimeout))
        {
            process.Kill();
            throw new TimeoutException($"{file} did not finish in {CompileTimeout}");
        }

        Assert.True(process.ExitCode == 0, $"{file} failed with exit code {process.ExitCode}:\n{stderr.Result}");
    }
}
