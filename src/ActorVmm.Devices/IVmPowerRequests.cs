namespace ActorVmm.Devices;

/// <summary>
/// How a device asks the VM to reset or stop. Devices only ask: the VM actor decides (a reset request may
/// reboot or stop the VM, by configuration). Called on a vCPU thread, possibly under a device lock, so an
/// implementation must not block: it sends a message and returns.
/// </summary>
public interface IVmPowerRequests
{
    /// <summary>The guest asked for a system reset (i8042 pulse, port 0x92 fast reset).</summary>
    void RequestReset(PowerRequestSource source);

    /// <summary>The guest asked the VM to stop with <paramref name="exitStatus"/> (the exit port).</summary>
    void RequestStop(int exitStatus, PowerRequestSource source);
}

/// <summary>Which guest action produced a power request (for logs and policy).</summary>
public enum PowerRequestSource
{
    /// <summary>i8042 output-port pulse (command 0xFE) or an output-port write clearing the reset bit.</summary>
    KeyboardControllerReset = 0,

    /// <summary>Port 0x92 (PS/2 system control port A) bit 0 set: fast reset.</summary>
    SystemControlFastReset = 1,

    /// <summary>A write to the exit port.</summary>
    ExitPort = 2,
}
