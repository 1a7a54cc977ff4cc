using ActorVmm.Machine.Interrupts;

namespace ActorVmm.Devices.Pci;

/// <summary>
/// The MSI routes of one PCI device, one per MSI-X vector, created through the VM's interrupt routing
/// (<see cref="IInterruptRouter.CreateMsiRoute"/>: a GSI route and an irqfd on KVM, a message to the emulated local
/// APICs on the emulator) the first time a vector is wired and kept for every later incarnation of the device, so a
/// restart never leaks routes.
/// </summary>
public sealed class PciMsiRoutes
{
    private readonly Func<MsiMessage, IMsiRoute> _create;
    private readonly Dictionary<int, IMsiRoute> _routes = [];
    private readonly Lock _lock = new();

    /// <summary>Creates the set; <paramref name="create"/> is the VM's <see cref="IInterruptRouter.CreateMsiRoute"/>.</summary>
    public PciMsiRoutes(Func<MsiMessage, IMsiRoute> create) => _create = create ?? throw new ArgumentNullException(nameof(create));

    /// <summary>Vector <paramref name="vector"/> as a function delivers it (the same route on every call).</summary>
    public IMsiVector Vector(int vector)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(vector);
        lock (_lock)
        {
            if (!_routes.TryGetValue(vector, out var route))
            {
                // No message yet: a route outside the interrupt window delivers nothing until the guest programs one.
                route = _create(default);
                _routes[vector] = route;
            }

            return new RouteVector(route);
        }
    }

    private sealed class RouteVector(IMsiRoute route) : IMsiVector
    {
        public void Update(ulong address, uint data) => route.Update(new MsiMessage(address, data));

        public void Trigger() => route.Trigger();
    }
}
