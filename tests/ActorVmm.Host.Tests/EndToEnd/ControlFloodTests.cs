using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using ActorVmm.Host.Control;
using Xunit.Abstractions;

namespace ActorVmm.Host.Tests.EndToEnd;

/// <summary>Tests that load the machine heavily run alone.</summary>
[CollectionDefinition(nameof(FloodCollection), DisableParallelization = true)]
public sealed class FloodCollection;

/// <summary>
/// Up to 20 000 connections to a real host that never send a byte (the finding: about as many made
/// the runtime abort). One process can hold only as many as its descriptor limit allows (20 000 on
/// the development machine, with no right to raise it), so the test holds that many less a reserve
/// for the test host itself; bench/control-flood.py holds the full 20 000 from two processes. The
/// host must stay alive, serve at most its cap at once, refuse the rest at once, stay small, and
/// serve again once the flood is gone. The figures are printed: run with
/// <c>--logger "console;verbosity=detailed"</c> to see them.
/// </summary>
[Collection(nameof(FloodCollection))]
public sealed class ControlFloodTests(ITestOutputHelper output) : IDisposable
{
    private const int MaxConnections = 20_000;
    private const int SpareDescriptors = 2048;
    private const long RssGrowthBound = 256L * 1024 * 1024;
    private static readonly TimeSpan ConnectWait = TimeSpan.FromSeconds(10);
    private readonly string _dir = Directory.CreateTempSubdirectory("actorvmm-flood-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Twenty_thousand_silent_connections_leave_the_host_alive_bounded_and_serving()
    {
        using var host = await SpinningHost.StartAsync(_dir, "flood-vm");
        Assert.Equal(0, TestLibc.GetRlimit(TestLibc.RLIMIT_NOFILE, out var limit));
        int connections = (int)Math.Min(MaxConnections, (long)limit.Current - SpareDescriptors);
        Assert.True(connections >= ControlProtocol.MaxConnections * 10, $"a descriptor limit of {limit.Current} leaves too few connections for a flood");

        long rssBefore = host.ResidentBytes();
        long rssPeak = rssBefore;
        var sockets = new List<Socket>(connections);
        int connectFailures = 0;
        int refused = 0, closedIdle = 0, stillServed = 0, other = 0;
        var clock = Stopwatch.StartNew();
        try
        {
            var endpoint = new UnixDomainSocketEndPoint(host.SocketPath);
            for (int i = 0; i < connections; i++)
            {
                if (await ConnectAsync(endpoint) is { } socket)
                {
                    sockets.Add(socket);
                }
                else
                {
                    connectFailures++;
                }

                if (i % 1000 == 0)
                {
                    rssPeak = Math.Max(rssPeak, host.ResidentBytes());
                }
            }

            var connected = clock.Elapsed;
            rssPeak = Math.Max(rssPeak, host.ResidentBytes());
            foreach (var socket in sockets)
            {
                switch (Classify(socket))
                {
                    case "refused": refused++; break;
                    case "idle": closedIdle++; break;
                    case "served": stillServed++; break;
                    default: other++; break;
                }
            }

            output.WriteLine($"{connections} connections opened in {connected.TotalSeconds:F1} s; connect failures {connectFailures}");
            output.WriteLine($"refused at once: {refused}; closed after the idle timeout: {closedIdle}; still being served: {stillServed}; other: {other}");
            output.WriteLine($"host RSS before {rssBefore / 1024 / 1024} MiB, peak {rssPeak / 1024 / 1024} MiB; host alive: {!host.Process.HasExited}");
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }

        var list = await host.ListAsync();
        output.WriteLine($"after the flood: list ok = {list.Ok} ({clock.Elapsed.TotalSeconds:F1} s after the first connection)");

        Assert.False(host.Process.HasExited, $"the host died: {host.Process.Stderr}");
        Assert.Equal(0, connectFailures);
        Assert.True(stillServed <= ControlProtocol.MaxConnections, $"{stillServed} connections served at once");
        Assert.Equal(0, other);
        Assert.True(refused >= connections - ControlProtocol.MaxConnections - closedIdle, $"only {refused} refused");
        Assert.True(rssPeak - rssBefore < RssGrowthBound, $"host RSS grew by {(rssPeak - rssBefore) / 1024 / 1024} MiB");
        Assert.True(list.Ok, list.Error);
    }

    /// <summary>
    /// Connects as a patient client does: a full listen backlog (EAGAIN, the host has not accepted
    /// the connections before it yet) is retried until <see cref="ConnectWait"/> has passed.
    /// </summary>
    private static async Task<Socket?> ConnectAsync(UnixDomainSocketEndPoint endpoint)
    {
        var deadline = DateTime.UtcNow + ConnectWait;
        while (true)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(endpoint).WaitAsync(ConnectWait);
                return socket;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.TryAgain or SocketError.WouldBlock && DateTime.UtcNow < deadline)
            {
                socket.Dispose();
                await Task.Delay(1);
            }
            catch (Exception ex) when (ex is SocketException or TimeoutException)
            {
                socket.Dispose();
                return null;
            }
        }
    }

    /// <summary>What the host did with a connection that never sent anything: its answer, if any, says.</summary>
    private static string Classify(Socket socket)
    {
        if (!socket.Poll(0, SelectMode.SelectRead))
        {
            return "served";
        }

        byte[] buffer = new byte[512];
        int read;
        try
        {
            read = socket.Receive(buffer);
        }
        catch (SocketException)
        {
            return "other";
        }

        string answer = Encoding.UTF8.GetString(buffer, 0, read);
        return answer.Contains("too many control connections", StringComparison.Ordinal) ? "refused"
            : answer.Contains("no request for", StringComparison.Ordinal) ? "idle"
            : "other";
    }
}
