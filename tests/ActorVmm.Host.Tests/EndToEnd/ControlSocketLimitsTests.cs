using System.Net.Sockets;
using System.Text;
using ActorVmm.Host.Control;

namespace ActorVmm.Host.Tests.EndToEnd;

/// <summary>One running host shared by the tests of what a misbehaving control client gets.</summary>
public sealed class SpinningHostFixture : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("actorvmm-limits-").FullName;

    internal SpinningHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await SpinningHost.StartAsync(_dir, "limits-vm");

    public Task DisposeAsync()
    {
        Host.Dispose();
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary>The control socket's limits against a real <c>actorvmm run</c> process (docs/control-protocol.md, "Limits").</summary>
public sealed class ControlSocketLimitsTests(SpinningHostFixture fixture) : IClassFixture<SpinningHostFixture>
{
    private static readonly TimeSpan AnswerWait = TimeSpan.FromSeconds(10);
    private SpinningHost Host => fixture.Host;

    [Fact]
    public async Task A_line_over_the_limit_is_refused_as_soon_as_its_first_byte_past_the_limit_arrives()
    {
        using var connection = await RawControlConnection.ConnectAsync(Host.SocketPath);

        // No newline and the sending side stays open: the host must not wait for the end of the line.
        await connection.SendAsync(new string('a', ControlProtocol.MaxRequestLength + 1));
        string? answer = await connection.ReadLineAsync(AnswerWait);

        var response = ControlProtocol.ParseResponse(answer!);
        Assert.False(response!.Ok);
        Assert.Contains("too long", response.Error, StringComparison.Ordinal);
        Assert.Null(await connection.ReadLineAsync(AnswerWait));
        Assert.True((await Host.ListAsync()).Ok);
    }

    [Fact]
    public async Task A_line_of_exactly_the_limit_is_still_read_and_answered()
    {
        using var connection = await RawControlConnection.ConnectAsync(Host.SocketPath);
        string request = "{\"command\":\"list\"}";
        string padded = request + new string(' ', ControlProtocol.MaxRequestLength - request.Length);

        await connection.SendAsync(padded + "\n");

        Assert.True(ControlProtocol.ParseResponse((await connection.ReadLineAsync(AnswerWait))!)!.Ok);
    }

    [Fact]
    public async Task An_endless_line_is_cut_off_without_the_host_buffering_it()
    {
        const int Chunk = 64 * 1024;
        const long Offered = 256L * 1024 * 1024;
        long before = Host.ResidentBytes();
        using var connection = await RawControlConnection.ConnectAsync(Host.SocketPath);
        byte[] chunk = new byte[Chunk];
        Array.Fill(chunk, (byte)'x');

        long sent = 0;
        try
        {
            while (sent < Offered)
            {
                await connection.SendAsync(chunk).WaitAsync(AnswerWait);
                sent += Chunk;
            }
        }
        catch (SocketException)
        {
            // The host closed the connection: the rest of the line was never read.
        }

        long growth = Host.ResidentBytes() - before;
        Assert.True(sent < Offered, $"the host read all {Offered} bytes of one line");
        Assert.True(growth < 64L * 1024 * 1024, $"host RSS grew by {growth} bytes while a long line arrived");
    }

    [Fact]
    public async Task A_utf16_byte_order_mark_gets_an_error_answer_instead_of_switching_the_decoder()
    {
        using var connection = await RawControlConnection.ConnectAsync(Host.SocketPath);
        byte[] utf16 = [.. Encoding.Unicode.GetPreamble(), .. Encoding.Unicode.GetBytes("{\"command\":\"list\"}\n")];

        await connection.SendAsync(utf16);
        var response = ControlProtocol.ParseResponse((await connection.ReadLineAsync(AnswerWait))!);

        Assert.False(response!.Ok);
        Assert.Contains("not UTF-8", response.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_with_a_duplicate_key_is_refused_and_changes_nothing()
    {
        using var connection = await RawControlConnection.ConnectAsync(Host.SocketPath);

        await connection.SendAsync($"{{\"command\":\"stat\",\"name\":\"{Host.Name}\",\"command\":\"stop\"}}\n");
        var response = ControlProtocol.ParseResponse((await connection.ReadLineAsync(AnswerWait))!);

        Assert.False(response!.Ok);
        Assert.Contains("malformed request", response.Error, StringComparison.Ordinal);
        var vm = Assert.Single((await Host.ListAsync()).Vms!);
        Assert.Equal("running", vm.State);
    }

    [Fact]
    public async Task An_idle_connection_is_closed_after_the_idle_timeout()
    {
        using var connection = await RawControlConnection.ConnectAsync(Host.SocketPath);

        var lines = await connection.ReadToEndAsync(ControlProtocol.IdleTimeout + AnswerWait);

        var farewell = ControlProtocol.ParseResponse(Assert.Single(lines));
        Assert.Contains("no request for", farewell!.Error, StringComparison.Ordinal);
    }
}
