using System.Net.Sockets;
using System.Text;

namespace ActorVmm.Host.Control;

/// <summary>Talks to running hosts over their control sockets.</summary>
public static class ControlClient
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>Sends one request to one host socket and returns its response.</summary>
    /// <exception cref="IOException">The host did not answer (stale socket, host gone).</exception>
    public static async Task<ControlResponse> SendAsync(string socketPath, ControlRequest request, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), timeout.Token);
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            await using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
            await writer.WriteLineAsync(ControlProtocol.Serialize(request).AsMemory(), timeout.Token);
            string? line = await reader.ReadLineAsync(timeout.Token);
            return (line is null ? null : ControlProtocol.ParseResponse(line))
                ?? throw new IOException($"host at {socketPath} closed the connection without an answer");
        }
        catch (SocketException ex)
        {
            throw new IOException($"cannot reach host at {socketPath}: {ex.Message}", ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new IOException($"host at {socketPath} did not answer within {Timeout.TotalSeconds} s", ex);
        }
    }

    /// <summary>Asks every live host for its VMs; stale sockets (no listener) are skipped.</summary>
    /// <exception cref="IOException">The control directory is not safe to use (another owner, a symbolic link, a loose mode).</exception>
    public static async Task<IReadOnlyList<(string Socket, VmStatus Vm)>> ListAllAsync(CancellationToken cancellationToken)
    {
        var all = new List<(string, VmStatus)>();
        foreach (string socket in ControlPaths.ListSockets())
        {
            try
            {
                var response = await SendAsync(socket, new ControlRequest("list"), cancellationToken);
                foreach (var vm in response.Vms ?? [])
                {
                    all.Add((socket, vm));
                }
            }
            catch (IOException)
            {
                // A host that died leaves its socket file; it cannot be reached and has no VMs.
            }
        }

        return all;
    }
}
