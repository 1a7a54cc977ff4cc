namespace ActorVmm.Devices;

/// <summary>
/// A device whose guest-programmed configuration is worth showing in <c>actorvmm stat</c> (the PCI host bridge lists its
/// functions with their BARs). Called on the supervisor, never on a vCPU thread; it reads under the device's own locks
/// and must not block on an actor.
/// </summary>
public interface IDeviceDetails
{
    /// <summary>One line per item, as <c>stat</c> prints them.</summary>
    IReadOnlyList<string> Details();
}
