using System.Text.RegularExpressions;
using ActorVmm.Host.Cli;
using ActorVmm.Host.Tests.TestImages;
using Xunit.Abstractions;

namespace ActorVmm.Host.Tests.EndToEnd;

/// <summary>The guest console of <c>actorvmm run</c> against slow, stalled, failing and endless host ends.</summary>
public sealed partial class ConsoleTests(ITestOutputHelper output) : IDisposable
{
    private const long MiB = 1024 * 1024;
    private static readonly TimeSpan ExitPatience = TimeSpan.FromSeconds(120);
    private readonly string _dir = Directory.CreateTempSubdirectory("actorvmm-console-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_large_guest_print_through_a_stalled_then_slow_reader_arrives_byte_exact_with_the_guest_status()
    {
        const int Printed = 256 * 1024;
        const byte Status = 5;
        const int SlowlyReadBytes = 64 * 1024;

        // Longer than the VM's final console flush waits (5 s): a guest not held back would be done and its tail lost.
        var stall = TimeSpan.FromSeconds(7);
        string image = await WriteImage("print.bin", HostGuests.PrintPattern(Printed, Status));
        using var process = ActorVmmProcess.StartReadingStdoutYourself(_dir, Run(image));

        await Task.Delay(stall);
        Assert.False(process.HasExited, $"the guest was not held back by the stalled reader; stderr: {process.Stderr}");
        byte[] received = await ReadAllAsync(process.StdoutPipe, slowlyFor: SlowlyReadBytes);
        int code = await process.WaitForExitAsync(ExitPatience);

        Assert.True(code == Status, $"exit code {code}, stderr: {process.Stderr}");
        Assert.Equal(HostGuests.ExpectedPattern(Printed), received);
    }

    [Fact]
    public async Task A_guest_printing_without_end_into_a_pipe_nobody_reads_keeps_host_memory_flat()
    {
        string image = await WriteImage("forever.bin", HostGuests.PrintForever());
        using var process = ActorVmmProcess.StartReadingStdoutYourself(_dir, [.. Run(image), "--name", "printer"]);
        await ControlSocketTests.WaitForVmAsync(_dir, "printer");

        var samples = await ProcessMemory.SampleAsync(process.Id, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(500));

        Report("stalled stdout", samples);
        AssertBounded(samples);
        Assert.False(process.HasExited, process.Stderr);
    }

    [Fact]
    public async Task Input_from_an_endless_stdin_is_read_only_as_the_guest_takes_it_and_host_memory_stays_flat()
    {
        string image = await WriteImage("spin.bin", HostGuests.Spinner());
        using var process = ActorVmmProcess.Start(_dir, [.. Run(image), "--name", "deaf"]);
        await ControlSocketTests.WaitForVmAsync(_dir, "deaf");
        long written = 0;
        var writer = new Thread(() =>
        {
            byte[] zeros = new byte[64 * 1024];
            try
            {
                while (true)
                {
                    process.StdinPipe.Write(zeros);
                    process.StdinPipe.Flush();
                    Interlocked.Add(ref written, zeros.Length);
                }
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException)
            {
                // The process was killed at the end of the test.
            }
        }) { IsBackground = true, Name = "cat /dev/zero" };
        writer.Start();

        var samples = await ProcessMemory.SampleAsync(process.Id, TimeSpan.FromSeconds(8), TimeSpan.FromMilliseconds(500));

        long taken = Interlocked.Read(ref written);
        Report("endless stdin", samples);
        output.WriteLine($"bytes the host let the test write to its stdin: {taken}");
        AssertBounded(samples);

        // A pipe's worth plus the pump's chunk and the device's queue, not everything the test could write.
        Assert.InRange(taken, 0, 1 * MiB);
    }

    [Fact]
    public async Task A_failing_console_log_is_reported_once_and_the_terminal_still_gets_every_byte_and_the_guest_status()
    {
        const int Printed = 64 * 1024;
        const byte Status = 7;
        string image = await WriteImage("print.bin", HostGuests.PrintPattern(Printed, Status));
        using var process = ActorVmmProcess.StartReadingStdoutYourself(_dir, [.. Run(image), "--console-log", "/dev/full"]);

        byte[] received = await ReadAllAsync(process.StdoutPipe, slowlyFor: 0);
        int code = await process.WaitForExitAsync(ExitPatience);

        Assert.True(code == Status, $"exit code {code}, stderr: {process.Stderr}");
        Assert.Equal(HostGuests.ExpectedPattern(Printed), received);
        Assert.Single(ConsoleLogWarning().Matches(process.Stderr));
    }

    [Fact]
    public async Task Closing_stdout_while_the_guest_prints_ends_run_with_the_sigpipe_status()
    {
        const int ReadBeforeClosing = 4096;
        string image = await WriteImage("forever.bin", HostGuests.PrintForever());
        using var process = ActorVmmProcess.StartReadingStdoutYourself(_dir, Run(image));
        byte[] first = new byte[ReadBeforeClosing];

        await process.StdoutPipe.ReadExactlyAsync(first);
        process.StdoutPipe.Dispose();

        Assert.Equal(ExitCodes.BrokenPipe, await process.WaitForExitAsync(ExitPatience));
        Assert.Equal(HostGuests.ExpectedPattern(ReadBeforeClosing), first);
    }

    [GeneratedRegex("Console log /dev/full failed")]
    private static partial Regex ConsoleLogWarning();

    private static string[] Run(string image) => ["run", "--image", image, "--mem", "1M", "--backend", "emulator"];

    private static async Task<byte[]> ReadAllAsync(Stream pipe, int slowlyFor)
    {
        var received = new MemoryStream();
        byte[] chunk = new byte[1024];
        int read;
        while ((read = await pipe.ReadAsync(chunk)) > 0)
        {
            received.Write(chunk, 0, read);
            if (received.Length < slowlyFor)
            {
                // A slow terminal: the guest keeps waiting on THRE between these reads.
                await Task.Delay(1);
            }
        }

        return received.ToArray();
    }

    /// <summary>
    /// Generous bounds, sampled once the VM runs: the host stays far below what unbounded buffering reached (1 GB → 5 GB
    /// in 30 s; several hundred MiB within these tests before the fix) and settles instead of growing.
    /// </summary>
    private static void AssertBounded(IReadOnlyList<(double Seconds, long Bytes)> samples)
    {
        long peak = samples.Max(s => s.Bytes);
        long settled = samples.First(s => s.Seconds >= 2).Bytes;
        Assert.True(peak < 400 * MiB, $"peak RSS {peak / MiB} MiB");
        Assert.True(samples[^1].Bytes - settled < 64 * MiB, $"RSS grew from {settled / MiB} MiB at 2 s to {samples[^1].Bytes / MiB} MiB");
    }

    private void Report(string what, IReadOnlyList<(double Seconds, long Bytes)> samples) =>
        output.WriteLine($"{what}: RSS " + string.Join(", ", samples.Select(s => $"{s.Seconds:F1}s={s.Bytes / MiB}MiB")));

    private async Task<string> WriteImage(string name, byte[] content)
    {
        string path = Path.Combine(_dir, name);
        await File.WriteAllBytesAsync(path, content);
        return path;
    }
}
