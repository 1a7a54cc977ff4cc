namespace ActorVmm.Host.Fleet;

/// <summary>The process's resident memory, read from /proc/self/status (VmRSS, VmHWM), for per-VM density figures.</summary>
public static class HostMemory
{
    private const string StatusPath = "/proc/self/status";

    // Writing "5" resets the peak resident set size (VmHWM) to the current RSS (proc(5), Linux 4.0+).
    private const string ClearRefsPath = "/proc/self/clear_refs";
    private const string ResetPeakCommand = "5";

    /// <summary>Resident set size in bytes (0 where /proc is missing).</summary>
    public static long ResidentBytes() => ReadStatusKiB("VmRSS:") * 1024;

    /// <summary>Peak resident set size in bytes since the process started or since <see cref="ResetPeak"/> (0 where /proc is missing).</summary>
    public static long PeakResidentBytes() => ReadStatusKiB("VmHWM:") * 1024;

    /// <summary>Resets the kernel's peak RSS to the current RSS; false where the kernel does not allow it (then the peak is the process's lifetime peak).</summary>
    public static bool ResetPeak()
    {
        try
        {
            File.WriteAllText(ClearRefsPath, ResetPeakCommand);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Collects garbage fully and has the GC give back the memory it freed, so RSS readings are not dominated by dead
    /// objects or by heap the GC keeps committed for reuse (it decommits free regions only gradually, as later
    /// collections run, and an idle host runs none).
    /// </summary>
    public static void Settle()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    private static long ReadStatusKiB(string field)
    {
        if (!File.Exists(StatusPath))
        {
            return 0;
        }

        foreach (string line in File.ReadLines(StatusPath))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                // "VmRSS:     12345 kB"
                string[] parts = line.Split(' ', '\t', StringSplitOptions.RemoveEmptyEntries);
                return parts.Length >= 2 && long.TryParse(parts[1], out long kib) ? kib : 0;
            }
        }

        return 0;
    }
}
