using ActorVmm.Kvm.Interop;
using ActorVmm.Machine.Interrupts;
using static ActorVmm.Kvm.Interop.KvmConstants;

namespace ActorVmm.Kvm;

/// <summary>
/// Interrupt routing into KVM's in-kernel irqchip: shared GSIs through the wired-OR table and
/// KVM_IRQ_LINE (the kernel keeps one userspace input per GSI, so the OR of our sources must be
/// taken here), one-off MSIs with KVM_SIGNAL_MSI, and reprogrammable MSI routes as GSI routing
/// entries (KVM_SET_GSI_ROUTING) each with an irqfd (KVM_IRQFD) that any thread signals.
/// </summary>
internal sealed class KvmInterruptRouter : IInterruptRouter, IGsiSink, IDisposable
{
    private readonly IKvmVmKernel _kernel;
    private readonly GsiSourceTable _gsis;
    private readonly KvmGsiRoutingTable _routing;
    private readonly Lock _routingLock = new();
    private readonly HashSet<KvmMsiRoute> _routes = [];
    private long _droppedMsis;

    /// <param name="kernel">The VM's ioctls.</param>
    /// <param name="maxRoutes">KVM_CHECK_EXTENSION(KVM_CAP_IRQ_ROUTING): the kernel's route limit.</param>
    public KvmInterruptRouter(IKvmVmKernel kernel, int maxRoutes)
    {
        _kernel = kernel ?? throw new ArgumentNullException(nameof(kernel));
        _gsis = new GsiSourceTable(KvmGsiRoutingTable.IrqchipGsis, this);
        _routing = new KvmGsiRoutingTable(maxRoutes);
    }

    /// <inheritdoc />
    public int GsiCount => _gsis.GsiCount;

    /// <summary>One-off MSIs that reached no local APIC (outside the interrupt window, or KVM reported them blocked).</summary>
    public long DroppedMsis => Interlocked.Read(ref _droppedMsis);

    /// <summary>MSI routes alive now.</summary>
    public int MsiRouteCount
    {
        get
        {
            lock (_routingLock)
            {
                return _routes.Count;
            }
        }
    }

    /// <inheritdoc />
    public IInterruptLine GetSource(int gsi, string owner) => _gsis.GetSource(gsi, owner);

    /// <inheritdoc />
    public bool IsAsserted(int gsi) => _gsis.IsAsserted(gsi);

    /// <inheritdoc />
    public void SetGsiLevel(int gsi, bool asserted) => _kernel.SetIrqLine(gsi, asserted);

    /// <inheritdoc />
    public bool SignalMsi(MsiMessage message)
    {
        // Outside the window the message is a plain memory write, not an interrupt; KVM would still
        // decode a destination from it, so it never reaches the kernel (as on the emulator).
        if (!message.IsInterruptAddress)
        {
            Interlocked.Increment(ref _droppedMsis);
            return false;
        }

        var msi = new kvm_msi { address_lo = message.AddressLow, address_hi = message.AddressHigh, data = message.Data };
        if (_kernel.SignalMsi(msi) > 0)
        {
            return true;
        }

        Interlocked.Increment(ref _droppedMsis);
        return false;
    }

    /// <inheritdoc />
    public IMsiRoute CreateMsiRoute(MsiMessage message)
    {
        int gsi;
        lock (_routingLock)
        {
            gsi = _routing.AllocateGsi();
            _routing.SetMsi(gsi, message);
            try
            {
                _kernel.SetGsiRouting(_routing.Build());
            }
            catch
            {
                _routing.Remove(gsi);
                throw;
            }
        }

        var eventFd = KvmEventFd.Create();
        var assign = new kvm_irqfd { fd = (uint)eventFd.Fd, gsi = (uint)gsi };
        try
        {
            _kernel.IrqFd(assign);
        }
        catch
        {
            eventFd.Dispose();
            RemoveRoute(gsi);
            throw;
        }

        var route = new KvmMsiRoute(this, gsi, message, new KvmEventFd(
            eventFd,
            _ =>
            {
                var deassign = assign;
                deassign.flags |= KVM_IRQFD_FLAG_DEASSIGN;
                _kernel.IrqFd(deassign);
            },
            _ => _kernel.IrqFd(assign)));
        lock (_routingLock)
        {
            _routes.Add(route);
        }

        return route;
    }

    /// <summary>Replaces a route's entry and hands the kernel the whole table again.</summary>
    internal void UpdateRoute(int gsi, MsiMessage message)
    {
        lock (_routingLock)
        {
            if (!_routing.TryGetMsi(gsi, out var previous))
            {
                throw new InvalidOperationException($"GSI {gsi} has no MSI route");
            }

            _routing.SetMsi(gsi, message);
            try
            {
                _kernel.SetGsiRouting(_routing.Build());
            }
            catch
            {
                _routing.SetMsi(gsi, previous);
                throw;
            }
        }
    }

    /// <summary>Called by a disposed route after its irqfd is deassigned: frees its GSI.</summary>
    internal void Release(KvmMsiRoute route)
    {
        lock (_routingLock)
        {
            _routes.Remove(route);
        }

        RemoveRoute(route.Gsi);
    }

    private void RemoveRoute(int gsi)
    {
        lock (_routingLock)
        {
            if (_routing.Remove(gsi))
            {
                _kernel.SetGsiRouting(_routing.Build());
            }
        }
    }

    /// <summary>Disposes every route still alive (before the VM fd closes).</summary>
    public void Dispose()
    {
        KvmMsiRoute[] routes;
        lock (_routingLock)
        {
            routes = [.. _routes];
        }

        foreach (var route in routes)
        {
            route.Dispose();
        }
    }
}
