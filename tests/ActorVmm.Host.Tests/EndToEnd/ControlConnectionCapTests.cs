using ActorVmm.Host.Control;

namespace ActorVmm.Host.Tests.EndToEnd;

/// <summary>The control socket's connection cap against a real <c>actorvmm run</c> process.</summary>
public sealed class ControlConnectionCapTests : IDisposable
{
    private static readonly TimeSpan AnswerWait = TimeSpan.FromSeconds(10);
    private readonly string _dir = Directory.CreateTempSubdirectory("actorvmm-cap-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_connection_over_the_cap_is_refused_with_a_clear_error_and_a_freed_slot_serves_again()
    {
        using var host = await SpinningHost.StartAsync(_dir, "cap-vm");
        var held = new List<RawControlConnection>();
        try
        {
            for (int i = 0; i < ControlProtocol.MaxConnections; i++)
            {
                // Each held connection is proven served (answered) before the next one opens.
                var connection = await RawControlConnection.ConnectAsync(host.SocketPath);
                held.Add(connection);
                await connection.SendAsync("{\"command\":\"list\"}\n");
                Assert.True(ControlProtocol.ParseResponse((await connection.ReadLineAsync(AnswerWait))!)!.Ok);
            }

            using (var extra = await RawControlConnection.ConnectAsync(host.SocketPath))
            {
                var lines = await extra.ReadToEndAsync(AnswerWait);
                var refusal = ControlProtocol.ParseResponse(Assert.Single(lines));
                Assert.False(refusal!.Ok);
                Assert.Contains("too many control connections", refusal.Error, StringComparison.Ordinal);
            }

            held[0].Dispose();
            held.RemoveAt(0);
            var deadline = DateTime.UtcNow + AnswerWait;
            ControlResponse? list = null;
            while (list is not { Ok: true } && DateTime.UtcNow < deadline)
            {
                list = await host.ListAsync();
            }

            Assert.True(list is { Ok: true }, $"a freed slot was not served again: {list?.Error}");
        }
        finally
        {
            held.ForEach(c => c.Dispose());
        }
    }
}
