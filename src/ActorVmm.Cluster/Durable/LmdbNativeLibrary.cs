using System.Reflection;
using System.Runtime.InteropServices;
using LightningDB;

namespace ActorVmm.Cluster.Durable;

/// <summary>
/// Finds LMDB's native library for LightningDB: the copy LightningDB ships (built against glibc 2.38,
/// newer than Debian 12's), else the system's <c>liblmdb.so.0</c> (Debian/Ubuntu package liblmdb0).
/// </summary>
public static class LmdbNativeLibrary
{
    /// <summary>The system library's file name.</summary>
    public const string SystemLibrary = "liblmdb.so.0";

    /// <summary>The name LightningDB imports.</summary>
    public const string ImportName = "lmdb";

    private static readonly Lazy<string?> Loaded = new(Load);

    /// <summary>Loads LMDB once (installing the resolver); returns why it cannot be loaded, or null when it can.</summary>
    public static string? Problem() => Loaded.Value;

    private static string? Load()
    {
        try
        {
            NativeLibrary.SetDllImportResolver(typeof(LightningEnvironment).Assembly, Resolve);
        }
        catch (InvalidOperationException)
        {
            // LightningDB set a resolver of its own: its choice stands.
        }

        return Resolve(ImportName, typeof(LightningEnvironment).Assembly, null) != IntPtr.Zero
            ? null
            : $"LMDB (the durable store of the cluster's replicated state) cannot be loaded: install it (Debian/Ubuntu: apt-get install {"liblmdb0"})";
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != ImportName)
        {
            return IntPtr.Zero;
        }

        if (NativeLibrary.TryLoad(name, assembly, searchPath, out var handle) || NativeLibrary.TryLoad(SystemLibrary, out handle))
        {
            return handle;
        }

        return IntPtr.Zero;
    }
}
