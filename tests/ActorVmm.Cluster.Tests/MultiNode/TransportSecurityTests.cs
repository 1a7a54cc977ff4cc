using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ActorVmm.Cluster.Node;
using ActorVmm.Cluster.Placement;
using ActorVmm.Cluster.Tests.Support;
using Akka.Configuration;
using static ActorVmm.Cluster.Tests.Support.TestCluster;

namespace ActorVmm.Cluster.Tests.MultiNode;

/// <summary>TLS on the cluster transport as docs/cluster.md turns it on, and a node with other transport settings kept out.</summary>
public sealed class TransportSecurityTests : IAsyncLifetime
{
    private const string Password = "actorvmm-test";

    /// <summary>How long a node with the wrong settings is watched not joining (several of its join retries).</summary>
    private static readonly TimeSpan Refusal = TimeSpan.FromSeconds(20);

    private readonly string _root = Directory.CreateTempSubdirectory("actorvmm-tls-").FullName;
    private readonly List<TestNode> _nodes = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task Nodes_with_tls_form_a_cluster_and_a_node_without_it_cannot_join()
    {
        var tls = TlsSettings(WriteSelfSignedCertificate());
        var capacity = new VmResources(64 * MiB, 4);
        var first = TestNode.FreeEndpoint();
        ClusterEndpoint[] seeds = [first];
        _nodes.Add(TestNode.Start(first, seeds, capacity, _root, tls));
        _nodes.Add(TestNode.Start(TestNode.FreeEndpoint(), seeds, capacity, _root, tls));
        await AllUpAsync(_nodes);

        // The same cluster name and seeds, plain TCP: the TLS nodes never take it in, and it never joins them.
        var plain = TestNode.Start(TestNode.FreeEndpoint(), seeds, capacity, _root);
        _nodes.Add(plain);

        // Watching for an absence needs a window: long enough for several of the plain node's join attempts
        // (one per seed-node-timeout, 5 s), each of which the TLS cluster must keep out.
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (watch.Elapsed < Refusal)
        {
            Assert.All(_nodes.Take(2), n => Assert.DoesNotContain(n.Cluster.State.Members, m => m.Address.Port == plain.Endpoint.Port));
            Assert.DoesNotContain(plain.Cluster.State.Members, m => m.Status == Akka.Cluster.MemberStatus.Up);
            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }

        Assert.All(_nodes.Take(2), n => Assert.Equal(2, n.Cluster.State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up)));
    }

    private string WriteSelfSignedCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=actorvmm-test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        string path = Path.Combine(_root, "node.pfx");
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pfx, Password));
        return path;
    }

    /// <summary>The settings docs/cluster.md gives, with validation suppressed for the self-signed test certificate.</summary>
    private static Config TlsSettings(string certificate) => ConfigurationFactory.ParseString($$"""
        akka.remote.dot-netty.tcp {
          enable-ssl = true
          ssl {
            suppress-validation = true
            certificate {
              path = "{{certificate}}"
              password = "{{Password}}"
            }
          }
        }
        """);
}
