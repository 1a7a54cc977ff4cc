using ActorVmm.Machine.Interrupts;

namespace ActorVmm.Emulator;

/// <summary>A reprogrammable MSI on the emulator: the message lives here; a trigger delivers it to the local APICs.</summary>
internal sealed class EmulatorMsiRoute(EmulatorInterruptRouter router, MsiMessage message) : IMsiRoute
{
    private readonly Lock _lock = new();
    private MsiMessage _message = message;
    private bool _disposed;

    /// <inheritdoc />
    public MsiMessage Message
    {
        get
        {
            lock (_lock)
            {
                return _message;
            }
        }
    }

    /// <inheritdoc />
    public void Update(MsiMessage message)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _message = message;
        }
    }

    /// <inheritdoc />
    public void Trigger()
    {
        MsiMessage current;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            current = _message;
        }

        router.Deliver(current);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
        }
    }
}
