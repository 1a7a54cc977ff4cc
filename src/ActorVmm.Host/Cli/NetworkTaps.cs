using ActorVmm.Devices.Virtio.Net;
using ActorVmm.Kvm.Tap;

namespace ActorVmm.Host.Cli;

/// <summary>
/// The -n/--network taps of one run, attached for the VM's whole life (every incarnation of a virtio-net device shares its
/// tap and counters, so a device restart never lets go of the interface). Disposing detaches them; a tap the run created
/// goes away with it.
/// </summary>
public sealed class NetworkTaps : IDisposable
{
    private readonly List<TapDevice> _taps;

    private NetworkTaps(IReadOnlyList<NetworkSpec> specs, List<TapDevice> taps)
    {
        Specs = specs;
        _taps = taps;
        Counters = [.. taps.Select(_ => new VirtioNetCounters())];
    }

    /// <summary>The cards, in -n order.</summary>
    public IReadOnlyList<NetworkSpec> Specs { get; }

    /// <summary>The attached taps, in -n order.</summary>
    public IReadOnlyList<TapDevice> Taps => _taps;

    /// <summary>Each card's counters, in -n order.</summary>
    public IReadOnlyList<VirtioNetCounters> Counters { get; }

    /// <summary>Attaches every tap; on any failure none stays attached.</summary>
    /// <exception cref="UsageException">/dev/net/tun is missing, a tap is busy, or the kernel refused it; the message says which.</exception>
    public static NetworkTaps Open(IReadOnlyList<NetworkSpec> specs)
    {
        ArgumentNullException.ThrowIfNull(specs);
        var taps = new List<TapDevice>(specs.Count);
        try
        {
            foreach (var spec in specs)
            {
                taps.Add(OpenOne(spec));
            }
        }
        catch
        {
            taps.ForEach(tap => tap.Dispose());
            throw;
        }

        return new NetworkTaps(specs, taps);
    }

    /// <inheritdoc />
    public void Dispose() => _taps.ForEach(tap => tap.Dispose());

    private static TapDevice OpenOne(NetworkSpec spec)
    {
        try
        {
            return TapDevice.Open(spec.TapName);
        }
        catch (IOException ex)
        {
            throw new UsageException($"--network tapif={spec.TapName}: {ex.Message}", ex);
        }
    }
}
