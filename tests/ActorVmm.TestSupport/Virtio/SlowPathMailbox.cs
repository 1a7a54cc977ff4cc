using System.Collections.Concurrent;
using ActorVmm.Devices;

namespace ActorVmm.TestSupport.Virtio;

/// <summary>
/// A device's mailbox without an actor: messages posted (from vCPU threads, thread-pool completions) queue up and the
/// test delivers them to the device's slow path on its own thread, one at a time, as the device actor would.
/// </summary>
public sealed class SlowPathMailbox : IDeviceMailbox
{
    private readonly BlockingCollection<object> _messages = [];

    /// <summary>Messages waiting.</summary>
    public int Count => _messages.Count;

    /// <summary>Every message ever posted, in order (for assertions on what was signalled).</summary>
    public ConcurrentQueue<object> History { get; } = new();

    /// <inheritdoc />
    public void Post(object message)
    {
        History.Enqueue(message);
        _messages.Add(message);
    }

    /// <summary>Delivers waiting messages until none is left; returns how many were delivered.</summary>
    public int RunPending(ISlowPathDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        int delivered = 0;
        while (_messages.TryTake(out var message))
        {
            Deliver(device, message);
            delivered++;
        }

        return delivered;
    }

    /// <summary>Waits up to <paramref name="timeout"/> for a message, delivers it and everything behind it; false on timeout.</summary>
    public bool WaitAndRun(ISlowPathDevice device, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (!_messages.TryTake(out var first, timeout))
        {
            return false;
        }

        Deliver(device, first);
        RunPending(device);
        return true;
    }

    /// <summary>Drops every waiting message (what a stopped actor's mailbox does).</summary>
    public void Clear()
    {
        while (_messages.TryTake(out _))
        {
        }
    }

    private static void Deliver(ISlowPathDevice device, object message)
    {
        // The device actor answers this one itself: the receiver may take more of the waiting input.
        if (message is DeviceSignals.InputSpaceAvailable)
        {
            (device as IConsoleInputDevice)?.OnInputAvailable();
            return;
        }

        if (device.OnSlowPath(message) is DeviceSignals.NotUnderstood)
        {
            throw new InvalidOperationException($"The device did not understand {message}");
        }
    }
}
