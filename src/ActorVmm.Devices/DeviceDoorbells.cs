using ActorVmm.Machine.Interrupts;

namespace ActorVmm.Devices;

/// <summary>
/// A device's doorbells (queue notifications that wake its actor without a register handler on the vCPU thread), kept
/// for every incarnation of the device like its <see cref="DeviceRegionControls"/>: a rebuilt device places the same
/// doorbells again and finds them already there, a device whose notify address moves (a PCI BAR) moves them. Callbacks
/// post to the device's mailbox, which outlives every incarnation. Without a backend (<see cref="IsAvailable"/> false)
/// nothing is placed and the device keeps taking notifications through its trap handler.
/// </summary>
public sealed class DeviceDoorbells : IDisposable
{
    private readonly IDoorbells? _backend;
    private readonly Dictionary<int, (Doorbell Bell, IDisposable Registration)> _placed = [];
    private bool _disposed;

    /// <summary>Creates the doorbells of one device over the VM's <paramref name="backend"/> (null: none).</summary>
    public DeviceDoorbells(IDoorbells? backend) => _backend = backend;

    /// <summary>True when the VM offers doorbells.</summary>
    public bool IsAvailable => _backend is not null;

    /// <summary>The doorbell placed under <paramref name="key"/>, or null.</summary>
    public Doorbell? this[int key]
    {
        get
        {
            lock (_placed)
            {
                return _placed.TryGetValue(key, out var entry) ? entry.Bell : null;
            }
        }
    }

    /// <summary>
    /// Places doorbell <paramref name="key"/> at <paramref name="bell"/> (null removes it); <paramref name="callback"/>
    /// runs after each ring and must not block (post to the device's mailbox). Placing the doorbell already there keeps
    /// it (and its first callback). False when the VM has no doorbells or the device was torn down.
    /// </summary>
    /// <exception cref="InvalidOperationException">Another doorbell already claims the same writes.</exception>
    public bool Place(int key, Doorbell? bell, Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        if (_backend is null)
        {
            return false;
        }

        lock (_placed)
        {
            if (_disposed)
            {
                return false;
            }

            if (_placed.TryGetValue(key, out var current))
            {
                if (current.Bell == bell)
                {
                    return true;
                }

                current.Registration.Dispose();
                _placed.Remove(key);
            }

            if (bell is not null)
            {
                _placed[key] = (bell, _backend.Register(bell, callback));
            }

            return true;
        }
    }

    /// <summary>Removes every doorbell; nothing can be placed afterwards.</summary>
    public void Dispose()
    {
        lock (_placed)
        {
            _disposed = true;
            foreach (var (_, registration) in _placed.Values)
            {
                registration.Dispose();
            }

            _placed.Clear();
        }
    }
}
