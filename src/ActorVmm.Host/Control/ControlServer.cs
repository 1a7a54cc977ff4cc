using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using ActorVmm.Host.Interop;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ActorVmm.Host.Control;

/// <summary>
/// The host's control endpoint (like lkvm's IPC socket): a Unix domain socket, mode 0600 in an
/// owner-only directory, that serves <see cref="ControlProtocol"/> and refuses peers whose
/// SO_PEERCRED user differs from the host's.
/// </summary>
public sealed class ControlServer : IHostedService, IAsyncDisposable
{
    private static readonly TimeSpan DrainWait = TimeSpan.FromSeconds(3);
    private readonly ControlRequestHandler _handler;
    private readonly ILogger<ControlServer> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _connections = [];
    private readonly Lock _connectionsLock = new();
    private Socket? _listener;
    private Task? _acceptLoop;

    private readonly uint _allowedUid;

    /// <summary>Creates a server at <paramref name="socketPath"/> that serves only the process's own user.</summary>
    public ControlServer(string socketPath, ControlRequestHandler handler, ILogger<ControlServer> logger)
        : this(socketPath, handler, logger, Libc.geteuid())
    {
    }

    /// <summary>Creates a server that serves only <paramref name="allowedUid"/> (tests use another uid to see the refusal).</summary>
    internal ControlServer(string socketPath, ControlRequestHandler handler, ILogger<ControlServer> logger, uint allowedUid)
    {
        _allowedUid = allowedUid;
        SocketPath = socketPath ?? throw new ArgumentNullException(nameof(socketPath));
        _handler = handler ?? throw new ArgumentNullException(nameof(handler));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    /// <summary>The socket file.</summary>
    public string SocketPath { get; }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (File.Exists(SocketPath))
        {
            // Our pid names the file, so an existing one was left by a dead process that had our pid.
            File.Delete(SocketPath);
        }

        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
            File.SetUnixFileMode(SocketPath, ControlPaths.SocketMode);
            listener.Listen(backlog: 16);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        _listener = listener;
        _acceptLoop = Task.Run(AcceptLoopAsync, CancellationToken.None);
        _logger.LogInformation("Control socket listening on {Socket}", SocketPath);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_listener is null)
        {
            return;
        }

        // Let requests in flight (a stop that ended the VM) write their answer before closing.
        Task[] inFlight;
        lock (_connectionsLock)
        {
            inFlight = [.. _connections];
        }

        await Task.WhenAny(Task.WhenAll(inFlight), Task.Delay(DrainWait, cancellationToken));
        await _stopping.CancelAsync();
        _listener.Dispose();
        _listener = null;
        if (_acceptLoop is not null)
        {
            await _acceptLoop;
        }

        TryDeleteSocketFile();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        _stopping.Dispose();
    }

    /// <summary>Reads the peer's credentials (struct ucred) from a connected Unix socket.</summary>
    internal static Libc.ucred PeerCredentials(Socket socket)
    {
        Span<byte> buffer = stackalloc byte[Marshal.SizeOf<Libc.ucred>()];
        int length = socket.GetRawSocketOption(Libc.SOL_SOCKET, Libc.SO_PEERCRED, buffer);
        if (length < buffer.Length)
        {
            throw new SocketException((int)SocketError.ProtocolNotSupported);
        }

        return MemoryMarshal.Read<Libc.ucred>(buffer);
    }

    private async Task AcceptLoopAsync()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested && _listener is { } listener)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            var connection = Task.Run(() => ServeAsync(client, token), CancellationToken.None);
            lock (_connectionsLock)
            {
                _connections.RemoveAll(t => t.IsCompleted);
                _connections.Add(connection);
            }
        }
    }

    private async Task ServeAsync(Socket client, CancellationToken token)
    {
        using (client)
        await using (var stream = new NetworkStream(client, ownsSocket: false))
        using (var reader = new StreamReader(stream, Encoding.UTF8))
        await using (var writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" })
        {
            try
            {
                var peer = PeerCredentials(client);
                if (peer.uid != _allowedUid)
                {
                    _logger.LogWarning("Control connection from user {PeerUid} (pid {PeerPid}) refused: the host serves user {Uid}", peer.uid, peer.pid, _allowedUid);
                    await writer.WriteLineAsync(ControlProtocol.Serialize(ControlResponse.Failure("permission denied: the host belongs to another user")));
                    return;
                }

                while (!token.IsCancellationRequested)
                {
                    string? line = await reader.ReadLineAsync(token);
                    if (line is null)
                    {
                        return;
                    }

                    if (line.Length > ControlProtocol.MaxRequestLength)
                    {
                        await writer.WriteLineAsync(ControlProtocol.Serialize(ControlResponse.Failure("request line too long")));
                        return;
                    }

                    var response = await _handler.HandleAsync(line);
                    _logger.LogDebug("Control request {Request} answered ok={Ok}", line, response.Ok);
                    await writer.WriteLineAsync(ControlProtocol.Serialize(response));
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                _logger.LogDebug(ex, "Control connection ended");
            }
        }
    }

    private void TryDeleteSocketFile()
    {
        try
        {
            File.Delete(SocketPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning(ex, "Cannot remove control socket {Socket}", SocketPath);
        }
    }
}
