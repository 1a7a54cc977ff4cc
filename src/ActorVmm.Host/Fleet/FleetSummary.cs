using System.Text;
using ActorVmm.Host.Cli;

namespace ActorVmm.Host.Fleet;

/// <summary>What a fleet run measured.</summary>
/// <param name="Requested">VMs asked for.</param>
/// <param name="Started">VMs that were created and started.</param>
/// <param name="Failed">VMs that could not start, died, or exited with a non-zero status.</param>
/// <param name="WallTime">From the first launch to the end of the run.</param>
/// <param name="LaunchTime">From the first launch to the last launch returning.</param>
/// <param name="FirstExitTimes">Create-to-first-instruction times of the VMs that reached one.</param>
/// <param name="ResidentBefore">RSS before the first launch.</param>
/// <param name="ResidentPeak">Highest RSS while the VMs were alive (samples and the kernel's high-water mark; see <see cref="Fleet.ResidentPeak"/>).</param>
/// <param name="GuestMemory">Guest RAM per VM.</param>
/// <param name="Backend">The backend used.</param>
public sealed record FleetSummary(
    int Requested,
    int Started,
    int Failed,
    TimeSpan WallTime,
    TimeSpan LaunchTime,
    IReadOnlyList<TimeSpan> FirstExitTimes,
    long ResidentBefore,
    long ResidentPeak,
    ulong GuestMemory,
    string Backend)
{
    /// <summary>Process CPU time (all threads) from the first launch until every VM had run its first instruction (hold mode only).</summary>
    public TimeSpan CpuToAllRunning { get; init; }

    /// <summary>CPU time per VM start (hold mode), the figure Firecracker quotes as "CPU-ms to start"; robust on a busy machine.</summary>
    public double CpuMillisecondsPerStart => CpuToAllRunning > TimeSpan.Zero && FirstInstructions.Count > 0 ? CpuToAllRunning.TotalMilliseconds / FirstInstructions.Count : 0;

    /// <summary>RSS after a full GC with every VM alive and halted (hold mode), or null.</summary>
    public long? ResidentAllAlive { get; init; }

    /// <summary>Process CPU time (all threads) spent while the halted fleet was held (--hold-for), or zero.</summary>
    public TimeSpan IdleCpu { get; init; }

    /// <summary>How long the halted fleet was held (--hold-for), or zero.</summary>
    public TimeSpan IdleWall { get; init; }

    /// <summary>VMs alive and halted while <see cref="IdleCpu"/> was measured.</summary>
    public int IdleVms { get; init; }

    /// <summary>Idle CPU as a percentage of one core (100 = one core busy).</summary>
    public double IdleCorePercent => IdleWall > TimeSpan.Zero ? 100 * IdleCpu.TotalSeconds / IdleWall.TotalSeconds : 0;

    /// <summary>When each VM executed its first instruction, from the first launch, sorted.</summary>
    public IReadOnlyList<TimeSpan> FirstInstructions { get; init; } = [];

    /// <summary>
    /// VM starts per second, a start being a VM's first instruction: (N-1) over the time from the
    /// first VM's first instruction to the last's, so the first VM's JIT warm-up is left out and a
    /// runner that creates VMs asynchronously (actors) is measured by when they really run.
    /// </summary>
    public double StartsPerSecond => FirstInstructions.Count > 1 && FirstInstructions[^1] > FirstInstructions[0]
        ? (FirstInstructions.Count - 1) / (FirstInstructions[^1] - FirstInstructions[0]).TotalSeconds
        : 0;

    /// <summary>RSS after every VM ended and a full GC, or null when not taken (stopped by a signal).</summary>
    public long? ResidentAfterEnd { get; init; }

    /// <summary>RSS growth over the baseline still held after every VM ended, per VM started: what an ended VM keeps (0 when not taken).</summary>
    public long RetainedBytesPerEndedVm => Started > 0 && ResidentAfterEnd is long after ? Math.Max(0, after - ResidentBefore) / Started : 0;

    /// <summary>Host memory per VM: peak RSS growth divided by the VMs started (guest pages the guest touched included).</summary>
    public long HostBytesPerVm => Started > 0 ? Math.Max(0, ResidentPeak - ResidentBefore) / Started : 0;

    /// <summary>A percentile of the create-to-first-instruction times (0 when none).</summary>
    public TimeSpan FirstExitPercentile(double percentile)
    {
        if (FirstExitTimes.Count == 0)
        {
            return TimeSpan.Zero;
        }

        var sorted = FirstExitTimes.Order().ToList();
        int index = (int)Math.Clamp(Math.Ceiling(percentile / 100 * sorted.Count) - 1, 0, sorted.Count - 1);
        return sorted[index];
    }

    /// <summary>The summary as printed at the end of <c>actorvmm fleet</c>.</summary>
    public string Format(string consoleDirectory)
    {
        var text = new StringBuilder();
        text.AppendLine("fleet summary");
        text.AppendLine($"  backend: {Backend}");
        text.AppendLine($"  VMs started: {Started} of {Requested}");
        text.AppendLine($"  VMs failed: {Failed}");
        text.AppendLine($"  wall time: {WallTime.TotalSeconds:F3} s");
        string span = FirstInstructions.Count > 0
            ? $"first instructions from {FirstInstructions[0].TotalMilliseconds:F1} ms to {FirstInstructions[^1].TotalMilliseconds:F1} ms"
            : "no VM reached its first instruction";
        text.AppendLine($"  VM starts/s: {StartsPerSecond:F0} ({FirstInstructions.Count} VMs running; {span}; launch calls took {LaunchTime.TotalMilliseconds:F1} ms)");
        if (CpuToAllRunning > TimeSpan.Zero)
        {
            text.AppendLine($"  CPU per VM start: {CpuMillisecondsPerStart:F2} ms ({CpuToAllRunning.TotalMilliseconds:F0} CPU-ms until all ran; {1000 / CpuMillisecondsPerStart:F0} starts/s per idle core)");
        }

        text.AppendLine($"  create-to-first-instruction: median {FirstExitPercentile(50).TotalMilliseconds:F3} ms, p99 {FirstExitPercentile(99).TotalMilliseconds:F3} ms ({FirstExitTimes.Count} VMs)");
        string allAlive = ResidentAllAlive is long alive ? $", {alive / 1048576.0:F1} MiB with all alive after a full GC" : string.Empty;
        text.AppendLine($"  host memory per VM: {HostBytesPerVm / 1024.0:F1} KiB at the peak (RSS {ResidentBefore / 1048576.0:F1} MiB -> peak {ResidentPeak / 1048576.0:F1} MiB{allAlive}; guest RAM {SizeParser.Format(GuestMemory)} per VM, resident only where touched)");
        if (ResidentAfterEnd is long afterEnd)
        {
            text.AppendLine($"  memory left after all VMs ended: {RetainedBytesPerEndedVm / 1024.0:F1} KiB per VM (RSS {afterEnd / 1048576.0:F1} MiB after a full GC, baseline {ResidentBefore / 1048576.0:F1} MiB)");
        }

        if (IdleWall > TimeSpan.Zero)
        {
            double perVm = IdleVms > 0 ? IdleCpu.TotalMicroseconds / IdleVms / IdleWall.TotalSeconds : 0;
            text.AppendLine($"  idle CPU while held: {IdleCorePercent:F2}% of one core over {IdleWall.TotalSeconds:F1} s ({IdleVms} halted VMs; {perVm:F2} µs CPU per VM per second)");
        }

        text.AppendLine($"  console logs: {consoleDirectory}");
        return text.ToString();
    }
}
