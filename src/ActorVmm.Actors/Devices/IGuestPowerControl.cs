namespace ActorVmm.Actors.Devices;

/// <summary>
/// How a device asks the VM to end or reset (exit port, i8042 pulse reset, port 0x92). Calls are
/// hot-path safe: they only send a message to the VM actor.
/// </summary>
public interface IGuestPowerControl
{
    /// <summary>The guest asked to stop with an exit status (exit port 0xF4).</summary>
    void RequestExit(int status);

    /// <summary>The guest asked for a reset (the VM reboots or stops, as configured).</summary>
    void RequestReset();
}
