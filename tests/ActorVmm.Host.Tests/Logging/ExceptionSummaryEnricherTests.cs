using ActorVmm.Host.Cli;
using ActorVmm.Host.Logging;
using Serilog.Events;

namespace ActorVmm.Host.Tests.Logging;

public sealed class ExceptionSummaryEnricherTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("actorvmm-log-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_wrapped_exception_is_summarized_on_one_line_with_the_inner_cause()
    {
        var wrapped = new InvalidOperationException("Exception during creation", new OutOfMemoryException("mmap of 68719476736 bytes of guest RAM failed: Cannot allocate memory\n   at somewhere"));

        string summary = ExceptionSummaryEnricher.Summarize(wrapped);

        Assert.Equal("InvalidOperationException: Exception during creation ---> OutOfMemoryException: mmap of 68719476736 bytes of guest RAM failed: Cannot allocate memory", summary);
    }

    [Fact]
    public void The_log_file_keeps_the_stack_trace()
    {
        string file = Path.Combine(_dir, "host.log");
        using (var logger = HostLogging.Create(new LogSettings(LogEventLevel.Warning, file)))
        {
            logger.Error(Thrown(), "A VM actor failed");
        }

        string text = File.ReadAllText(file);
        Assert.Contains("A VM actor failed", text, StringComparison.Ordinal);
        Assert.Contains("   at ", text, StringComparison.Ordinal);
        Assert.DoesNotContain($"\"{ExceptionSummaryEnricher.PropertyName}\":", text, StringComparison.Ordinal);
    }

    private static Exception Thrown()
    {
        try
        {
            throw new OutOfMemoryException("mmap failed");
        }
        catch (OutOfMemoryException ex)
        {
            return ex;
        }
    }
}
