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
/// SO_PEERCRED user differs from the host's. A peer can cost the host at most
/// <see cref="ControlProtocol.MaxConnections"/> connections of one bounded line buffer each, for at
/// most <see cref="ControlProtocol.IdleTimeout"/> of silence; anything beyond is refused at once.
/// </summary>
public sealed class ControlServer : IHostedService, IAsyncDisposable
{
    private const int ListenBacklog = 128;
    private static readonly TimeSpan DrainWait = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan AcceptRetryDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan FarewellTimeout = TimeSpan.FromSeconds(1);
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly ControlRequestHandler _handler;
    private readonly ILogger<ControlServer> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _connections = [];
    private readonly Lock _connectionsLock = new();
    private readonly uint _allowedUid;
    private readonly int _maxConnections;
    private readonly TimeSpan _idleTimeout;
    private readonly byte[] _busyAnswer;
    private Socket? _listener;
    private Task? _acceptLoop;
    private int _open;
    private long _refused;

    /// <summary>Creates a server at <paramref name="socketPath"/> that serves only the process's own user.</summary>
    public ControlServer(string socketPath, ControlRequestHandler handler, ILogger<ControlServer> logger)
        : this(socketPath, handler, logger, Libc.geteuid())
    {
    }

    /// <summary>Creates a server that serves only <paramref name="allowedUid"/> (tests use another uid to see the refusal), with the protocol's limits unless given.</summary>
    internal ControlServer(string socketPath, ControlRequestHandler handler, ILogger<ControlServer> logger, uint allowedUid, int maxConnections = ControlProtocol.MaxConnections, TimeSpan? idleTimeout = null)
    {
        SocketPath = socketPath ?? throw new ArgumentNullException(nameof(socketPath));
        _handler = handler ?? throw new ArgumentNullException(nameof(handler));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxConnections);
        _allowedUid = allowedUid;
        _maxConnections = maxConnections;
        _idleTimeout = idleTimeout ?? ControlProtocol.IdleTimeout;
        _busyAnswer = Line(ControlResponse.Failure($"too many control connections: this host serves {maxConnections} at once; try again later"));
    }

    /// <summary>The socket file.</summary>
    public string SocketPath { get; }

    /// <summary>Connections being served now.</summary>
    internal int OpenConnections => Volatile.Read(ref _open);

    /// <summary>Connections refused because <see cref="ControlProtocol.MaxConnections"/> were open.</summary>
    internal long RefusedConnections => Interlocked.Read(ref _refused);

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (UnixFiles.TryLstat(SocketPath, out _, out _))
        {
            // Our pid names the file, so an existing one was left by a dead process that had our pid.
            // (Unlinking removes a link itself, never its target.)
            File.Delete(SocketPath);
        }

        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
            ControlPaths.SetSocketMode(SocketPath);
            listener.Listen(ListenBacklog);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        _listener = listener;
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
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

        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
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

    private static byte[] Line(ControlResponse response) => Encoding.UTF8.GetBytes(ControlProtocol.Serialize(response) + "\n");

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
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex) when (!token.IsCancellationRequested)
            {
                // Out of file descriptors (EMFILE/ENFILE) or a peer gone before accept: keep serving
                // the connections we have and try again shortly, rather than end the accept loop.
                _logger.LogWarning("Control socket accept failed ({Error}); retrying", ex.SocketErrorCode);
                if (!await DelayAsync(AcceptRetryDelay, token))
                {
                    return;
                }

                continue;
            }

            if (Interlocked.Increment(ref _open) > _maxConnections)
            {
                Interlocked.Decrement(ref _open);
                Refuse(client);
                continue;
            }

            var connection = Task.Run(() => ServeAsync(client, token), CancellationToken.None);
            lock (_connectionsLock)
            {
                _connections.RemoveAll(t => t.IsCompleted);
                _connections.Add(connection);
            }
        }
    }

    /// <summary>Answers a connection over the limit with one error line and closes it, without waiting on the peer.</summary>
    private void Refuse(Socket client)
    {
        long refused = Interlocked.Increment(ref _refused);
        if (refused == 1 || refused % 1000 == 0)
        {
            _logger.LogWarning("Control connection refused: {Limit} connections are open, the limit; {Refused} refused so far", _maxConnections, refused);
        }

        using (client)
        {
            try
            {
                client.Blocking = false;
                client.Send(_busyAnswer);
            }
            catch (SocketException)
            {
                // The peer is gone or not reading: closing is the answer.
            }
        }
    }

    private async Task ServeAsync(Socket client, CancellationToken stopping)
    {
        try
        {
            using (client)
            await using (var stream = new NetworkStream(client, ownsSocket: false))
            {
                var peer = PeerCredentials(client);
                if (peer.uid != _allowedUid)
                {
                    _logger.LogWarning("Control connection from user {PeerUid} (pid {PeerPid}) refused: the host serves user {Uid}", peer.uid, peer.pid, _allowedUid);
                    await WriteAsync(stream, ControlResponse.Failure("permission denied: the host belongs to another user"), FarewellTimeout, stopping);
                    return;
                }

                await ServeLinesAsync(stream, stopping);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            _logger.LogDebug(ex, "Control connection ended");
        }
        finally
        {
            Interlocked.Decrement(ref _open);
        }
    }

    private async Task ServeLinesAsync(NetworkStream stream, CancellationToken stopping)
    {
        var reader = new ControlLineReader(stream, ControlProtocol.MaxRequestLength);
        while (true)
        {
            ControlLineKind kind;
            ReadOnlyMemory<byte> bytes;
            using (var idle = CancellationTokenSource.CreateLinkedTokenSource(stopping))
            {
                idle.CancelAfter(_idleTimeout);
                try
                {
                    (kind, bytes) = await reader.ReadLineAsync(idle.Token);
                }
                catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
                {
                    await WriteAsync(stream, ControlResponse.Failure($"no request for {_idleTimeout.TotalSeconds:0} s; closing the connection"), FarewellTimeout, stopping);
                    return;
                }
            }

            switch (kind)
            {
                case ControlLineKind.End:
                    return;
                case ControlLineKind.TooLong:
                    await WriteAsync(stream, ControlResponse.Failure($"request line too long: the limit is {ControlProtocol.MaxRequestLength} bytes; closing the connection"), FarewellTimeout, stopping);
                    return;
            }

            string line;
            try
            {
                line = StrictUtf8.GetString(bytes.Span);
            }
            catch (DecoderFallbackException)
            {
                await WriteAsync(stream, ControlResponse.Failure("malformed request: not UTF-8 text"), _idleTimeout, stopping);
                continue;
            }

            var response = await HandleAsync(line);
            _logger.LogDebug("Control request {Request} answered ok={Ok}", line, response.Ok);
            await WriteAsync(stream, response, _idleTimeout, stopping);
        }
    }

    private async Task<ControlResponse> HandleAsync(string line)
    {
        try
        {
            return await _handler.HandleAsync(line);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A VM that refuses or does not answer in time is an answer, not a reason to drop the client.
            _logger.LogWarning(ex, "Control request {Request} failed", line);
            return ControlResponse.Failure($"request failed: {ex.Message}");
        }
    }

    /// <summary>Writes one response line; a peer that does not read it within <paramref name="timeout"/> is dropped.</summary>
    private static async Task WriteAsync(NetworkStream stream, ControlResponse response, TimeSpan timeout, CancellationToken stopping)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        limit.CancelAfter(timeout);
        await stream.WriteAsync(Line(response), limit.Token);
    }

    private static async Task<bool> DelayAsync(TimeSpan delay, CancellationToken token)
    {
        try
        {
            await Task.Delay(delay, token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private void OnProcessExit(object? sender, EventArgs e) => TryDeleteSocketFile();

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
