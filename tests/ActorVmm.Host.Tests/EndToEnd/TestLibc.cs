using System.Runtime.InteropServices;

namespace ActorVmm.Host.Tests.EndToEnd;

/// <summary>libc calls the tests need to set up hostile conditions (another owner, signals) and to size them (descriptor limit).</summary>
internal static class TestLibc
{
    /// <summary>RLIMIT_NOFILE from asm-generic/resource.h.</summary>
    public const int RLIMIT_NOFILE = 7;

    [DllImport("libc", EntryPoint = "chown", SetLastError = true)]
    public static extern int Chown(string path, uint owner, uint group);

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static extern int Kill(int pid, int signal);

    [DllImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    public static extern int GetRlimit(int resource, out Rlimit limit);

    /// <summary>struct rlimit: soft and hard limit.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Rlimit
    {
        public ulong Current;
        public ulong Maximum;
    }
}
