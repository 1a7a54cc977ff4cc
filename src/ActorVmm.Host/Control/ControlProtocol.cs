using System.Text.Json;
using System.Text.Json.Serialization;

namespace ActorVmm.Host.Control;

/// <summary>
/// The control socket's line-based JSON protocol (docs/control-protocol.md): the client writes one
/// request object per line, the host answers each with one response object on one line.
/// </summary>
public static class ControlProtocol
{
    /// <summary>Longest request line in bytes (without its newline); a longer one is answered with an error as soon as its 4097th byte arrives, and the connection closed.</summary>
    public const int MaxRequestLength = 4096;

    /// <summary>Connections a host serves at once; one more is answered with an error and closed at once.</summary>
    public const int MaxConnections = 64;

    /// <summary>How long a connection may wait for its next request line (or take to read an answer) before the host closes it.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The commands the host understands.</summary>
    public static IReadOnlyList<string> Commands { get; } = ["list", "stat", "pause", "resume", "stop"];

    /// <summary>Serializes a message to one line (no trailing newline).</summary>
    public static string Serialize(ControlRequest request) => JsonSerializer.Serialize(request, ControlJsonContext.Default.ControlRequest);

    /// <summary>Serializes a message to one line (no trailing newline).</summary>
    public static string Serialize(ControlResponse response) => JsonSerializer.Serialize(response, ControlJsonContext.Default.ControlResponse);

    /// <summary>Parses a request line; null when it is not one JSON request object (duplicate keys included: which one would win is not obvious to a reader).</summary>
    public static ControlRequest? ParseRequest(string line)
    {
        try
        {
            return JsonSerializer.Deserialize(line, ControlJsonContext.Default.ControlRequest);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Parses a response line; null when it is not a JSON response object.</summary>
    public static ControlResponse? ParseResponse(string line)
    {
        try
        {
            return JsonSerializer.Deserialize(line, ControlJsonContext.Default.ControlResponse);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>A request: <c>{"command":"pause","name":"vm1"}</c>.</summary>
/// <param name="Command">list, stat, pause, resume or stop.</param>
/// <param name="Name">The VM (all but list).</param>
public sealed record ControlRequest(string Command, string? Name = null);

/// <summary>A response: <c>{"ok":true,"vms":[...]}</c> or <c>{"ok":false,"error":"..."}</c>.</summary>
/// <param name="Ok">Whether the request succeeded.</param>
/// <param name="Error">Why not, when it did not.</param>
/// <param name="Vms">The VMs concerned (all for list, the one named otherwise).</param>
public sealed record ControlResponse(bool Ok, string? Error = null, IReadOnlyList<VmStatus>? Vms = null)
{
    /// <summary>A failure response.</summary>
    public static ControlResponse Failure(string error) => new(false, error);
}

/// <summary>One VM's status as the protocol reports it.</summary>
/// <param name="Name">VM name.</param>
/// <param name="State">starting, running, paused, stopped or failed.</param>
/// <param name="Backend">kvm or emulator.</param>
/// <param name="MemoryBytes">Guest RAM.</param>
/// <param name="Cpus">vCPUs.</param>
/// <param name="Exits">Port I/O and MMIO exits so far.</param>
/// <param name="Restarts">Supervision restarts so far.</param>
/// <param name="HostPid">The process running the VM.</param>
/// <param name="Pci">The VM's PCI functions, one lspci-like line each (address, class, IDs, BARs where they decode); null when it has none.</param>
public sealed record VmStatus(string Name, string State, string Backend, ulong MemoryBytes, int Cpus, long Exits, int Restarts, int HostPid, IReadOnlyList<string>? Pci = null);

/// <summary>System.Text.Json source generation for the protocol (camelCase, nulls omitted).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, AllowDuplicateProperties = false)]
[JsonSerializable(typeof(ControlRequest))]
[JsonSerializable(typeof(ControlResponse))]
internal sealed partial class ControlJsonContext : JsonSerializerContext;
