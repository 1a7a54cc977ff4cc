namespace ActorVmm.Devices;

/// <summary>
/// The guest-visible state of a device as an immutable record the device can be rebuilt from (rust-vmm
/// vm-superio's <c>state()</c>/<c>from_state()</c>). A restarted device is rebuilt from the last state that could
/// be captured and validated, so the guest keeps its programmed registers; otherwise from power-on state.
/// Host-side wiring (ports, IRQ numbers, output sinks) is not part of it: that comes from the definition again.
/// </summary>
public abstract record DeviceState
{
    /// <summary>Checks that every value is one the device's registers can hold.</summary>
    /// <exception cref="DeviceStateException">The state is inconsistent; the device must start from power-on instead.</exception>
    public abstract void Validate();

    /// <summary>Throws <see cref="DeviceStateException"/> naming <paramref name="what"/> when <paramref name="condition"/> is false.</summary>
    protected void Require(bool condition, string what)
    {
        if (!condition)
        {
            throw new DeviceStateException($"{GetType().Name}: {what}");
        }
    }
}

/// <summary>A captured device state cannot be used to rebuild the device.</summary>
public sealed class DeviceStateException : Exception
{
    /// <summary>Creates the exception.</summary>
    public DeviceStateException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a cause.</summary>
    public DeviceStateException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
