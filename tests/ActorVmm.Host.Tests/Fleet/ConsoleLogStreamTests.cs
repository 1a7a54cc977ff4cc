using ActorVmm.Host.Fleet;

namespace ActorVmm.Host.Tests.Fleet;

public sealed class ConsoleLogStreamTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("actorvmm-log-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_write_whose_append_failed_is_not_kept_so_the_sinks_retry_lands_in_the_log_once()
    {
        string missingDirectory = Path.Combine(_dir, "not-yet");
        string path = Path.Combine(missingDirectory, "vm.log");
        byte[] chunk = [.. Enumerable.Range(0, ConsoleLogStream.FlushThreshold).Select(i => (byte)i)];
        using var log = new ConsoleLogStream(path);

        Assert.ThrowsAny<IOException>(() => log.Write(chunk));
        Directory.CreateDirectory(missingDirectory);
        log.Write(chunk);

        Assert.Equal(chunk, File.ReadAllBytes(path));
    }
}
