using System.Net.Sockets;
using System.Text;
using ActorVmm.Host.Control;
using Microsoft.Extensions.Logging.Abstractions;

namespace ActorVmm.Host.Tests.Control;

public sealed class ControlServerTests : IAsyncLifetime
{
    private const int HostPid = 31337;
    private readonly string _dir = Directory.CreateTempSubdirectory("actorvmm-ctl-").FullName;
    private readonly FakeFleet _fleet = new();
    private ControlServer _server = null!;

    private string SocketPath => Path.Combine(_dir, HostPid + ControlPaths.SocketExtension);

    public async Task InitializeAsync()
    {
        _server = new ControlServer(SocketPath, new ControlRequestHandler(_fleet, HostPid), NullLogger<ControlServer>.Instance);
        await _server.StartAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Socket_file_is_owner_read_write_only() =>
        Assert.Equal(ControlPaths.SocketMode, File.GetUnixFileMode(SocketPath));

    [Fact]
    public async Task A_client_lists_pauses_resumes_and_stops_over_the_socket()
    {
        var vm = _fleet.Add("web");

        var list = await ControlClient.SendAsync(SocketPath, new ControlRequest("list"), CancellationToken.None);
        Assert.Equal("web", Assert.Single(list.Vms!).Name);

        Assert.Equal("paused", (await ControlClient.SendAsync(SocketPath, new ControlRequest("pause", "web"), CancellationToken.None)).Vms![0].State);
        Assert.Equal("running", (await ControlClient.SendAsync(SocketPath, new ControlRequest("resume", "web"), CancellationToken.None)).Vms![0].State);
        Assert.Equal("stopped", (await ControlClient.SendAsync(SocketPath, new ControlRequest("stop", "web"), CancellationToken.None)).Vms![0].State);
        Assert.True(vm.Completion.IsCompleted);
    }

    [Fact]
    public async Task One_connection_carries_several_request_lines_in_order()
    {
        _fleet.Add("a");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath));
        await using var stream = new NetworkStream(socket);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        await using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };

        await writer.WriteLineAsync("{\"command\":\"pause\",\"name\":\"a\"}\n{\"command\":\"stat\",\"name\":\"a\"}");
        var first = ControlProtocol.ParseResponse((await reader.ReadLineAsync())!);
        var second = ControlProtocol.ParseResponse((await reader.ReadLineAsync())!);

        Assert.Equal("paused", first!.Vms![0].State);
        Assert.Equal("paused", second!.Vms![0].State);
    }

    [Fact]
    public void Peer_credentials_name_the_connecting_user()
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(SocketPath));

        var peer = ControlServer.PeerCredentials(socket);

        Assert.Equal(ActorVmm.Host.Interop.Libc.geteuid(), peer.uid);
        Assert.Equal(Environment.ProcessId, peer.pid);
    }

    [Fact]
    public async Task A_peer_whose_uid_differs_from_the_hosts_is_refused_before_any_request()
    {
        const uint SomeoneElse = 4_000_000;
        var vm = _fleet.Add("private");
        string path = Path.Combine(_dir, "other-user" + ControlPaths.SocketExtension);
        await using var server = new ControlServer(path, new ControlRequestHandler(_fleet, HostPid), NullLogger<ControlServer>.Instance, allowedUid: SomeoneElse);
        await server.StartAsync(CancellationToken.None);

        var response = await ControlClient.SendAsync(path, new ControlRequest("stop", "private"), CancellationToken.None);

        Assert.False(response.Ok);
        Assert.Contains("permission denied", response.Error, StringComparison.Ordinal);
        Assert.False(vm.Completion.IsCompleted);
    }

    [Fact]
    public async Task Stopping_the_server_removes_its_socket_file()
    {
        await _server.StopAsync(CancellationToken.None);
        Assert.False(File.Exists(SocketPath));
    }
}
