namespace ActorVmm.Machine.Network;

/// <summary>
/// SEAM (bound by the tap backend, <c>ActorVmm.Kvm.Tap.TapDevice</c>; tests use a fake): a host network interface that
/// carries whole Ethernet frames (destination MAC first, no FCS, no virtio-net header) between the host and one guest
/// network card. Reads never block: a frame the host has for the guest stays in the host's queue until the device asks
/// for it, which is how a guest without receive buffers pushes back. One caller at a time (the device's slow path).
/// </summary>
public interface INetworkTap
{
    /// <summary>The host interface's name (tap0), for logs and errors.</summary>
    string Name { get; }

    /// <summary>
    /// Takes the next frame the host has for the guest into <paramref name="destination"/> and returns its length, or 0
    /// when none is waiting (or the tap has failed). A frame longer than <paramref name="destination"/> is dropped and
    /// counted by the tap, never cut short.
    /// </summary>
    int TryReceive(Span<byte> destination);

    /// <summary>Hands one frame from the guest to the host; false when the host refused it (the frame is dropped, as on a wire).</summary>
    bool Send(ReadOnlySpan<byte> frame);

    /// <summary>
    /// Asks for one call of <paramref name="onReadable"/> once a frame is waiting (at once if one already is), on a thread
    /// of the tap's own, never the caller's and never a vCPU. One call per request; the callback must not block (it posts
    /// a message). A tap that has failed never calls back.
    /// </summary>
    void RequestReadable(Action onReadable);
}
