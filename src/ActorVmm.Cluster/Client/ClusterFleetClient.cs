using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using ActorVmm.Actors.Hosting;
using ActorVmm.Cluster.Gateway;
using ActorVmm.Cluster.Node;
using Akka.Actor;
using Akka.Cluster.Tools.Client;
using Akka.Configuration;
using Microsoft.Extensions.Logging;

namespace ActorVmm.Cluster.Client;

/// <summary>
/// A control command's way into a cluster: a short-lived actor system with plain remoting (it never
/// joins, so it never counts in membership or the split-brain resolver) and Akka's ClusterClient,
/// which contacts the receptionist of the given nodes and delivers to the fleet gateway at
/// <c>/user/fleet</c> of the node it reached; the gateway acts wherever the VM runs.
/// </summary>
public sealed class ClusterFleetClient : IAsyncDisposable
{
    private readonly ActorSystem _system;
    private readonly IActorRef _client;
    private readonly IReadOnlyList<ClusterEndpoint> _contacts;

    private ClusterFleetClient(ActorSystem system, IActorRef client, IReadOnlyList<ClusterEndpoint> contacts)
    {
        _system = system;
        _client = client;
        _contacts = contacts;
    }

    /// <summary>Starts the client's actor system; <paramref name="baseConfig"/> is config/akka.hocon with --config over it (TLS settings must match the cluster's).</summary>
    public static ClusterFleetClient Start(string clusterName, IReadOnlyList<ClusterEndpoint> contacts, Config baseConfig, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(contacts);
        if (contacts.Count == 0)
        {
            throw new ArgumentException("no cluster node given", nameof(contacts));
        }

        var config = ClusterNodeConfig.ForClient(LocalAddressTowards(contacts[0])).WithFallback(baseConfig);
        bool tls = ClusterNodeConfig.UsesTls(config);
        var system = ActorVmmSystem.Create(clusterName + "-client", config, loggers);
        try
        {
            var receptionists = contacts.Select(c => ActorPath.Parse(c.AkkaAddress(clusterName, tls) + "/system/receptionist")).ToImmutableHashSet();
            var client = system.ActorOf(ClusterClient.Props(ClusterClientSettings.Create(system).WithInitialContacts(receptionists)), "fleet-client");
            return new ClusterFleetClient(system, client, contacts);
        }
        catch
        {
            system.Terminate().Wait(TimeSpan.FromSeconds(5));
            throw;
        }
    }

    /// <summary>Sends <paramref name="request"/> to a node's fleet gateway and returns its answer.</summary>
    /// <exception cref="ClusterUnavailableException">No answer within <paramref name="timeout"/>.</exception>
    public async Task<object> AskAsync(object request, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        try
        {
            return await _client.Ask(new ClusterClient.Send(ClusterFleetProtocol.GatewayPath, request, localAffinity: true), timeout, cancellationToken);
        }
        catch (AskTimeoutException ex)
        {
            throw new ClusterUnavailableException($"no answer from the cluster at {string.Join(", ", _contacts)} within {timeout.TotalSeconds:F0} s (is a node running there, with the same cluster name and TLS settings?)", ex);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _system.Terminate();
    }

    /// <summary>
    /// The local address this machine reaches <paramref name="contact"/> from: the client's transport
    /// binds there so the node's answers come back (loopback for a node on loopback).
    /// </summary>
    public static string LocalAddressTowards(ClusterEndpoint contact)
    {
        ArgumentNullException.ThrowIfNull(contact);
        try
        {
            var target = IPAddress.TryParse(contact.Host, out var ip) ? ip : Dns.GetHostAddresses(contact.Host).First();
            using var probe = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            // A UDP "connect" sends nothing: it only asks the kernel which local address routes there.
            probe.Connect(new IPEndPoint(target, contact.Port));
            return ((IPEndPoint)probe.LocalEndPoint!).Address.ToString();
        }
        catch (Exception ex) when (ex is SocketException or InvalidOperationException)
        {
            throw new ClusterUnavailableException($"cannot find a route to {contact}: {ex.Message}", ex);
        }
    }
}

/// <summary>The cluster could not be reached or did not answer.</summary>
public sealed class ClusterUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ClusterUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public ClusterUnavailableException()
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public ClusterUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
