using ActorVmm.Machine.Network;

namespace ActorVmm.TestSupport.Virtio;

/// <summary>
/// A tap in memory: frames the test "receives from the host" wait in a queue until the device takes them, frames the
/// device sends are recorded, and a readiness request is answered (on the caller's thread of <see cref="Deliver"/>, or at
/// once when a frame is already waiting) like the real tap's one-shot callback. Thread-safe.
/// </summary>
public sealed class FakeNetworkTap : INetworkTap
{
    [ThreadStatic]
    private static bool t_inDeliver;

    private readonly Lock _lock = new();
    private readonly Queue<byte[]> _incoming = new();
    private readonly List<byte[]> _sent = [];
    private Action? _waiting;

    /// <inheritdoc />
    public string Name => "fake-tap";

    /// <summary>When true, <see cref="Send"/> refuses every frame (a tap whose queue is full).</summary>
    public bool RefuseSends { get; set; }

    /// <summary>Frames from the host not yet taken by the device.</summary>
    public int WaitingFrames
    {
        get
        {
            lock (_lock)
            {
                return _incoming.Count;
            }
        }
    }

    /// <summary>Frames the device sent, in order.</summary>
    public IReadOnlyList<byte[]> Sent
    {
        get
        {
            lock (_lock)
            {
                return [.. _sent];
            }
        }
    }

    /// <summary>How many frames the device sent.</summary>
    public int SentCount
    {
        get
        {
            lock (_lock)
            {
                return _sent.Count;
            }
        }
    }

    /// <summary>Frame <paramref name="index"/> the device sent.</summary>
    public byte[] SentAt(int index)
    {
        lock (_lock)
        {
            return _sent[index];
        }
    }

    /// <summary>Frames dropped in <see cref="TryReceive"/> because they were longer than the device's buffer.</summary>
    public int DroppedTooLarge { get; private set; }

    /// <summary>The managed thread that last called <see cref="TryReceive"/> or <see cref="Send"/> (0 before any call).</summary>
    public int LastCallerThread { get; private set; }

    /// <summary>True once a frame was read by the thread delivering one, inside the readiness callback (a device that does its work in the callback instead of posting it).</summary>
    public bool ReadInsideDeliver { get; private set; }

    /// <summary>Readiness requests made so far.</summary>
    public int ReadableRequests { get; private set; }

    /// <summary>True while a readiness request waits for a frame.</summary>
    public bool IsWaitingForFrame
    {
        get
        {
            lock (_lock)
            {
                return _waiting is not null;
            }
        }
    }

    /// <summary>The host has a frame for the guest: queues it and answers a waiting readiness request.</summary>
    public void Deliver(ReadOnlySpan<byte> frame)
    {
        Action? callback;
        lock (_lock)
        {
            _incoming.Enqueue(frame.ToArray());
            callback = _waiting;
            _waiting = null;
        }

        t_inDeliver = true;
        try
        {
            callback?.Invoke();
        }
        finally
        {
            t_inDeliver = false;
        }
    }

    /// <inheritdoc />
    public int TryReceive(Span<byte> destination)
    {
        lock (_lock)
        {
            LastCallerThread = Environment.CurrentManagedThreadId;
            ReadInsideDeliver |= t_inDeliver;
            while (_incoming.TryDequeue(out var frame))
            {
                if (frame.Length > destination.Length)
                {
                    DroppedTooLarge++;
                    continue;
                }

                frame.CopyTo(destination);
                return frame.Length;
            }

            return 0;
        }
    }

    /// <inheritdoc />
    public bool Send(ReadOnlySpan<byte> frame)
    {
        lock (_lock)
        {
            LastCallerThread = Environment.CurrentManagedThreadId;
            if (RefuseSends)
            {
                return false;
            }

            _sent.Add(frame.ToArray());
            return true;
        }
    }

    /// <inheritdoc />
    public void RequestReadable(Action onReadable)
    {
        ArgumentNullException.ThrowIfNull(onReadable);
        bool now;
        lock (_lock)
        {
            ReadableRequests++;
            now = _incoming.Count > 0;
            if (!now)
            {
                _waiting = onReadable;
            }
        }

        if (now)
        {
            onReadable();
        }
    }
}
