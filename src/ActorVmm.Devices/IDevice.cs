using ActorVmm.Machine.Traps;

namespace ActorVmm.Devices;

/// <summary>
/// A device's hot path as the supervisor sees it: the regions it declares and the handler the trap
/// table calls for them, synchronously on vCPU threads. Implementations are thread-safe for
/// concurrent vCPUs with their own lock (never a global one) and never block on an actor.
/// A device never registers its regions itself: the VM's supervisor does.
/// </summary>
public interface IDevice
{
    /// <summary>Device name for logs and region names ("com1", "rtc").</summary>
    string Name { get; }

    /// <summary>The regions the device wants on the trap bus; index = the <c>region</c> argument of <see cref="HandleTrap"/>.</summary>
    IReadOnlyList<DeviceRegion> Regions { get; }

    /// <summary>Handles one guest access to region <paramref name="region"/>; offsets are relative to that region.</summary>
    void HandleTrap(int region, TrapAccess access);

    /// <summary>Returns the device to its power-on state (device reset semantics).</summary>
    void Reset();

    /// <summary>
    /// The device's guest-visible state as an immutable record it can be rebuilt from (through
    /// <see cref="DeviceContext.RestoredState"/>). Called by the supervisor after a failure, so it must not
    /// assume the instance is healthy: it reads under the device's own lock and never blocks on an actor.
    /// </summary>
    DeviceState CaptureState();
}

/// <summary>A region a device declares.</summary>
/// <param name="Bus">Port I/O or MMIO.</param>
/// <param name="Base">First port or guest-physical address (where it decodes when enabled).</param>
/// <param name="Length">Size in ports or bytes.</param>
/// <param name="Flags">Registration flags (coalescing).</param>
/// <param name="Enabled">
/// Whether it decodes now. A region that moves at run time (a PCI BAR) is declared where its device's state puts it,
/// disabled until the guest enables decoding, and then placed by the device itself through
/// <see cref="DeviceContext.Regions"/>; a fixed region is enabled from the start.
/// </param>
public sealed record DeviceRegion(TrapBus Bus, ulong Base, ulong Length, TrapFlags Flags = TrapFlags.None, bool Enabled = true);
