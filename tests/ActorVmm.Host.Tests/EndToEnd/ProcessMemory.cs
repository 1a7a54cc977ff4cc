using System.Globalization;

namespace ActorVmm.Host.Tests.EndToEnd;

/// <summary>Reads a process's resident set size from /proc, as <c>ps</c> does.</summary>
internal static class ProcessMemory
{
    /// <summary>VmRSS of <paramref name="pid"/> in bytes.</summary>
    public static long ResidentBytes(int pid)
    {
        const string Field = "VmRSS:";
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(Field, StringComparison.Ordinal))
            {
                // "VmRSS:	  123456 kB"
                string kib = line[Field.Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
                return long.Parse(kib, CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException($"/proc/{pid}/status has no {Field} line");
    }

    /// <summary>Samples every <paramref name="interval"/> for <paramref name="duration"/>; returns (seconds since start, bytes).</summary>
    public static async Task<IReadOnlyList<(double Seconds, long Bytes)>> SampleAsync(int pid, TimeSpan duration, TimeSpan interval)
    {
        var samples = new List<(double, long)>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            samples.Add((clock.Elapsed.TotalSeconds, ResidentBytes(pid)));
            await Task.Delay(interval);
        }

        return samples;
    }
}
