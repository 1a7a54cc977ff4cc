using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using ActorVmm.Host.Interop;
using Microsoft.Win32.SafeHandles;

namespace ActorVmm.Host.Control;

/// <summary>
/// Makes VM names unique per user across host processes, so that <c>actorvmm stop NAME</c> means
/// one VM. A host claims a name by holding an exclusive flock on <c>names/NAME.lock</c> in the
/// control directory for as long as it runs; the kernel drops the lock when the process dies, so a
/// killed host leaves no stale claim. Each lock file holds its owner's pid for the refusal message.
/// </summary>
public sealed class VmNameRegistry : IDisposable
{
    /// <summary>The subdirectory of the control directory that holds the lock files.</summary>
    public const string DirectoryName = "names";

    private const string LockExtension = ".lock";
    private const int MaxAttempts = 10;
    private const int OwnerFieldLength = 16;
    private readonly string _directory;
    private readonly Dictionary<string, SafeFileHandle> _claims = new(StringComparer.Ordinal);

    /// <summary>A registry in <paramref name="controlDirectory"/> (already checked by <see cref="ControlPaths.EnsureDirectory"/>).</summary>
    /// <exception cref="IOException">The names directory cannot be created.</exception>
    public VmNameRegistry(string controlDirectory)
    {
        ArgumentNullException.ThrowIfNull(controlDirectory);
        _directory = Path.Combine(controlDirectory, DirectoryName);
        try
        {
            Directory.CreateDirectory(_directory, ControlPaths.DirectoryMode);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new IOException($"cannot create {_directory}: {ex.Message}", ex);
        }
    }

    /// <summary>Claims every name in <paramref name="names"/>, or none of them.</summary>
    /// <exception cref="VmNameInUseException">Another live host holds one of the names.</exception>
    /// <exception cref="IOException">A lock file cannot be created or locked.</exception>
    public void Claim(IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var claimed = new List<string>();
        try
        {
            foreach (string name in names)
            {
                if (!_claims.ContainsKey(name))
                {
                    _claims[name] = ClaimOne(name);
                    claimed.Add(name);
                }
            }
        }
        catch
        {
            claimed.ForEach(Release);
            throw;
        }
    }

    /// <summary>Releases every claim.</summary>
    public void Dispose()
    {
        foreach (string name in _claims.Keys.ToList())
        {
            Release(name);
        }
    }

    private string LockPath(string name) => Path.Combine(_directory, name + LockExtension);

    private SafeFileHandle ClaimOne(string name)
    {
        string path = LockPath(name);
        for (int attempt = 1; ; attempt++)
        {
            var file = UnixFiles.Open(path, Libc.O_RDWR | Libc.O_CREAT | Libc.O_NOFOLLOW | Libc.O_NOCTTY | Libc.O_NONBLOCK, (uint)(UnixFileMode.UserRead | UnixFileMode.UserWrite), out int errno);
            if (file.IsInvalid)
            {
                throw new IOException($"cannot claim VM name '{name}': {path}: {Libc.ErrorText(errno)}");
            }

            if (Libc.flock(file, Libc.LOCK_EX | Libc.LOCK_NB) != 0)
            {
                errno = Marshal.GetLastPInvokeError();
                file.Dispose();
                throw errno == Libc.EWOULDBLOCK
                    ? new VmNameInUseException(name, ReadOwner(path))
                    : new IOException($"cannot lock {path}: {Libc.ErrorText(errno)}");
            }

            // A previous holder unlinks its file on release; if that happened between our open and
            // our lock we hold an orphan that nobody else can see, so try again on the current file.
            var held = UnixFiles.Stat(file);
            if (UnixFiles.TryLstat(path, out var current, out _) && SameFile(held, current))
            {
                WriteOwner(file);
                return file;
            }

            file.Dispose();
            if (attempt == MaxAttempts)
            {
                throw new IOException($"cannot claim VM name '{name}': {path} keeps being replaced");
            }
        }
    }

    private void Release(string name)
    {
        if (_claims.Remove(name, out var file))
        {
            // Unlink while still holding the lock, so a waiting claimant re-checks (see ClaimOne).
            File.Delete(LockPath(name));
            file.Dispose();
        }
    }

    private static bool SameFile(in Libc.statx a, in Libc.statx b) =>
        a.stx_ino == b.stx_ino && a.stx_dev_major == b.stx_dev_major && a.stx_dev_minor == b.stx_dev_minor;

    private static void WriteOwner(SafeFileHandle file)
    {
        // A fixed-width field, so a longer pid from an earlier owner is always overwritten.
        byte[] owner = Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture).PadRight(OwnerFieldLength - 1) + "\n");
        RandomAccess.Write(file, owner, fileOffset: 0);
    }

    private static int? ReadOwner(string path)
    {
        using var file = UnixFiles.Open(path, Libc.O_RDONLY | Libc.O_NOFOLLOW | Libc.O_NONBLOCK | Libc.O_NOCTTY, 0, out _);
        if (file.IsInvalid)
        {
            return null;
        }

        byte[] buffer = new byte[OwnerFieldLength];
        int read = RandomAccess.Read(file, buffer, fileOffset: 0);
        return int.TryParse(Encoding.ASCII.GetString(buffer, 0, read).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ? pid : null;
    }
}

/// <summary>A VM name is held by another live host process of the same user.</summary>
public sealed class VmNameInUseException : Exception
{
    /// <summary>Creates the exception for <paramref name="name"/>, held by <paramref name="ownerPid"/> when known.</summary>
    public VmNameInUseException(string name, int? ownerPid)
        : base($"a VM called '{name}' is already running in another actorvmm process{(ownerPid is { } pid ? $" (pid {pid})" : string.Empty)}")
    {
        Name = name;
        OwnerPid = ownerPid;
    }

    /// <summary>The name.</summary>
    public string Name { get; }

    /// <summary>The process holding it, when its lock file says.</summary>
    public int? OwnerPid { get; }
}
