using System.Net.Sockets;
using System.Text;

namespace ActorVmm.Host.Tests.EndToEnd;

/// <summary>A control-socket client that sends any bytes and reads raw answer lines, for tests of what a misbehaving peer gets.</summary>
internal sealed class RawControlConnection : IDisposable
{
    private readonly Socket _socket;
    private readonly List<byte> _received = [];
    private bool _ended;

    private RawControlConnection(Socket socket) => _socket = socket;

    /// <summary>Connects to a host's socket.</summary>
    public static async Task<RawControlConnection> ConnectAsync(string socketPath)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
            return new RawControlConnection(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends bytes.</summary>
    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            int sent = await _socket.SendAsync(bytes);
            bytes = bytes[sent..];
        }
    }

    /// <summary>Sends a string as UTF-8.</summary>
    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    /// <summary>Closes the sending side (the host then sees end of stream).</summary>
    public void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    /// <summary>The next answer line without its newline; null once the host closed the connection.</summary>
    /// <exception cref="TimeoutException">Neither came within <paramref name="timeout"/>.</exception>
    public async Task<string?> ReadLineAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        byte[] buffer = new byte[4096];
        while (true)
        {
            int newline = _received.IndexOf((byte)'\n');
            if (newline >= 0)
            {
                string line = Encoding.UTF8.GetString([.. _received.Take(newline)]);
                _received.RemoveRange(0, newline + 1);
                return line;
            }

            if (_ended)
            {
                return null;
            }

            int read;
            try
            {
                read = await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no answer line and no close within {timeout.TotalSeconds} s");
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
            {
                read = 0;
            }

            if (read == 0)
            {
                _ended = true;
            }

            _received.AddRange(buffer.AsSpan(0, read));
        }
    }

    /// <summary>Every answer line until the host closes the connection.</summary>
    public async Task<IReadOnlyList<string>> ReadToEndAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var lines = new List<string>();
        while (await ReadLineAsync(deadline - DateTime.UtcNow) is { } line)
        {
            lines.Add(line);
        }

        return lines;
    }

    public void Dispose() => _socket.Dispose();
}
