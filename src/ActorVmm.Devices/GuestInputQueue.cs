using System.Collections.Concurrent;

namespace ActorVmm.Devices;

/// <summary>
/// Host bytes waiting for the guest to read them from a device (a UART's receive path). It lives
/// in the device's device setup, outside the instance that can fail: a byte leaves it
/// only when the guest reads it (the device takes it in its data-register read on the vCPU
/// thread), so input survives restarts and is delivered exactly once, in order. The device actor
/// adds; vCPU threads peek and take; both are lock-free.
/// </summary>
public sealed class GuestInputQueue
{
    private readonly ConcurrentQueue<byte> _bytes = new();

    /// <summary>True when no byte waits.</summary>
    public bool IsEmpty => _bytes.IsEmpty;

    /// <summary>Bytes waiting.</summary>
    public int Count => _bytes.Count;

    /// <summary>The next byte without taking it (for a "data ready" status bit).</summary>
    public bool TryPeek(out byte value) => _bytes.TryPeek(out value);

    /// <summary>Takes the next byte: call it only when the guest actually reads it.</summary>
    public bool TryTake(out byte value) => _bytes.TryDequeue(out value);

    /// <summary>Appends host bytes (the device actor does this for console input).</summary>
    public void Add(ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            _bytes.Enqueue(b);
        }
    }
}
