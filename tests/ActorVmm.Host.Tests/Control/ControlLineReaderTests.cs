using System.IO.Pipes;
using System.Text;
using ActorVmm.Host.Control;

namespace ActorVmm.Host.Tests.Control;

public sealed class ControlLineReaderTests
{
    private const int Limit = 16;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Lines_are_split_at_newlines_and_a_last_unterminated_line_is_returned_at_the_end()
    {
        var reader = new ControlLineReader(new MemoryStream("one\ntwo\nthree"u8.ToArray()), Limit);

        Assert.Equal("one", await ReadText(reader));
        Assert.Equal("two", await ReadText(reader));
        Assert.Equal("three", await ReadText(reader));
        Assert.Equal(ControlLineKind.End, (await reader.ReadLineAsync(CancellationToken.None)).Kind);
    }

    [Fact]
    public async Task A_line_of_exactly_the_limit_is_a_line()
    {
        var reader = new ControlLineReader(new MemoryStream(Encoding.ASCII.GetBytes(new string('a', Limit) + "\n")), Limit);

        Assert.Equal(new string('a', Limit), await ReadText(reader));
    }

    [Fact]
    public async Task A_line_one_byte_over_the_limit_is_too_long_even_with_its_newline_present()
    {
        var reader = new ControlLineReader(new MemoryStream(Encoding.ASCII.GetBytes(new string('a', Limit + 1) + "\n")), Limit);

        Assert.Equal(ControlLineKind.TooLong, (await reader.ReadLineAsync(CancellationToken.None)).Kind);
    }

    [Fact]
    public async Task Too_long_is_reported_once_the_limit_is_passed_without_waiting_for_the_rest_of_the_line()
    {
        using var server = new AnonymousPipeServerStream(PipeDirection.Out);
        using var client = new AnonymousPipeClientStream(PipeDirection.In, server.ClientSafePipeHandle);
        var reader = new ControlLineReader(client, Limit);

        // The writer keeps the pipe open: a reader that needed the newline would wait forever.
        await server.WriteAsync(Encoding.ASCII.GetBytes(new string('a', Limit + 1)));
        await server.FlushAsync();
        var read = reader.ReadLineAsync(CancellationToken.None).AsTask();

        Assert.Same(read, await Task.WhenAny(read, Task.Delay(Wait)));
        Assert.Equal(ControlLineKind.TooLong, (await read).Kind);
    }

    [Fact]
    public async Task Many_short_lines_in_one_read_keep_their_order_across_buffer_compaction()
    {
        string text = string.Concat(Enumerable.Range(0, 50).Select(i => $"l{i}\n"));
        var reader = new ControlLineReader(new MemoryStream(Encoding.ASCII.GetBytes(text)), Limit);

        for (int i = 0; i < 50; i++)
        {
            Assert.Equal($"l{i}", await ReadText(reader));
        }
    }

    private static async Task<string> ReadText(ControlLineReader reader)
    {
        var (kind, line) = await reader.ReadLineAsync(CancellationToken.None);
        Assert.Equal(ControlLineKind.Line, kind);
        return Encoding.ASCII.GetString(line.Span);
    }
}
