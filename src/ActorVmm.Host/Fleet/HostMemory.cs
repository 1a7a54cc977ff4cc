namespace ActorVmm.Host.Fleet;

/// <summary>The process's resident memory, read from /proc/self/status (VmRSS), for per-VM density figures.</summary>
public static class HostMemory
{
    /// <summary>Resident set size in bytes (0 where /proc is missing).</summary>
    public static long ResidentBytes()
    {
        const string Path = "/proc/self/status";
        if (!File.Exists(Path))
        {
            return 0;
        }

        foreach (string line in File.ReadLines(Path))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                // "VmRSS:     12345 kB"
                string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return parts.Length >= 2 && long.TryParse(parts[1], out long kib) ? kib * 1024 : 0;
            }
        }

        return 0;
    }

    /// <summary>Collects garbage fully so RSS readings are not dominated by dead objects.</summary>
    public static void Settle()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    }
}
