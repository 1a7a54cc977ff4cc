using System.Globalization;
using System.Net;

namespace ActorVmm.Cluster.Node;

/// <summary>A node's transport endpoint as users give it: <c>HOST:PORT</c>.</summary>
/// <param name="Host">Host name or IP address.</param>
/// <param name="Port">TCP port.</param>
public sealed record ClusterEndpoint(string Host, int Port)
{
    /// <summary>The transport's protocol in addresses: plain TCP.</summary>
    public const string PlainProtocol = "akka.tcp";

    /// <summary>The transport's protocol in addresses with TLS on (akka.remote.dot-netty.tcp.enable-ssl).</summary>
    public const string TlsProtocol = "akka.ssl.tcp";

    /// <summary>The Akka address of the node at this endpoint in cluster <paramref name="clusterName"/>, plain TCP.</summary>
    public string AkkaAddress(string clusterName) => AkkaAddress(clusterName, tls: false);

    /// <summary>The Akka address of the node at this endpoint in cluster <paramref name="clusterName"/>; with TLS on the protocol is akka.ssl.tcp.</summary>
    public string AkkaAddress(string clusterName, bool tls) =>
        $"{(tls ? TlsProtocol : PlainProtocol)}://{clusterName}@{this}";

    /// <summary>HOST:PORT, an IPv6 address in brackets (as addresses and URIs write it).</summary>
    public override string ToString() => $"{(Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host)}:{Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Parses <c>HOST:PORT</c> (an IPv6 address in brackets); throws <see cref="FormatException"/> with a one-line reason.</summary>
    public static ClusterEndpoint Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string value = text.Trim();
        int colon = value.LastIndexOf(':');
        if (colon <= 0 || colon == value.Length - 1)
        {
            throw new FormatException($"'{text}' is not HOST:PORT");
        }

        string host = value[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        if (!int.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
        {
            throw new FormatException($"'{text}' has no valid port (1 to 65535)");
        }

        if (host.Length == 0 || (Uri.CheckHostName(host) == UriHostNameType.Unknown))
        {
            throw new FormatException($"'{text}' has no valid host name or address");
        }

        if (IPAddress.TryParse(host, out var ip) && (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any)))
        {
            throw new FormatException($"'{text}': {host} is not an address other nodes can reach; give the node's own address");
        }

        return new ClusterEndpoint(host, port);
    }

    /// <summary>Parses a comma-separated list of <c>HOST:PORT</c>.</summary>
    public static IReadOnlyList<ClusterEndpoint> ParseList(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var endpoints = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Parse).ToList();
        return endpoints.Count > 0 ? endpoints : throw new FormatException("no HOST:PORT given");
    }
}
