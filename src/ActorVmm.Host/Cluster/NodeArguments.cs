namespace ActorVmm.Host.Cluster;

/// <summary>The raw values of <c>actorvmm node</c>'s options.</summary>
public sealed record NodeArguments
{
    /// <summary>--seed: HOST:PORT[,HOST:PORT...].</summary>
    public string Seeds { get; init; } = string.Empty;

    /// <summary>--port: the transport port.</summary>
    public int Port { get; init; } = ActorVmm.Cluster.Node.ClusterNodeOptions.DefaultPort;

    /// <summary>--bind: the address the transport binds and other nodes reach.</summary>
    public string Bind { get; init; } = "127.0.0.1";

    /// <summary>--capacity-mem: guest memory offered (null: the host's RAM).</summary>
    public string? CapacityMemory { get; init; }

    /// <summary>--capacity-vcpus: vCPUs offered (null: the host's CPUs).</summary>
    public int? CapacityVcpus { get; init; }

    /// <summary>--backend.</summary>
    public string Backend { get; init; } = "auto";

    /// <summary>--cluster-name: the actor system name shared by the cluster.</summary>
    public string ClusterName { get; init; } = ActorVmm.Cluster.Node.ClusterNodeOptions.DefaultClusterName;

    /// <summary>--state-dir: where the durable replicated state lives (null: under $XDG_STATE_HOME).</summary>
    public string? StateDirectory { get; init; }

    /// <summary>--config: extra HOCON (TLS, timings).</summary>
    public string? Config { get; init; }

    /// <summary>--log-level.</summary>
    public string LogLevel { get; init; } = "information";

    /// <summary>--log-file.</summary>
    public string? LogFile { get; init; }
}
