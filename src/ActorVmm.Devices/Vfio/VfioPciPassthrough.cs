using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Passthrough;
using static ActorVmm.Machine.Passthrough.VfioPciIndexes;

namespace ActorVmm.Devices.Vfio;

/// <summary>
/// The host side of one passed-through PCI function, which outlives the device's incarnations: the VFIO device (its
/// fds), the mmapped BAR areas and the memory slots that put them in the guest, the INTx irqfd, and the MSI/MSI-X routes
/// with what was last told to VFIO. A rebuilt incarnation finds them as its predecessor left them, so it never maps a
/// slot twice or loses an armed interrupt. Thread-safe: BAR moves and interrupt changes come from vCPU threads.
/// </summary>
public sealed class VfioPciPassthrough : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, List<(ulong Offset, IVfioMapping Mapping)>> _mappings = [];
    private readonly Dictionary<int, List<IDisposable>> _slots = [];
    private readonly IEventFdMsiRoute?[] _msixRoutes;
    private readonly List<IEventFdMsiRoute> _msiRoutes = [];
    private ILevelIrqFd? _intx;
    private bool _disposed;

    /// <summary>
    /// Reads the device's layout (unless given), maps the backend's guest RAM for the device's DMA, and mmaps every
    /// page-aligned mmappable BAR area (outside MSI-X structures) once.
    /// </summary>
    /// <exception cref="InvalidOperationException">The device cannot be passed through.</exception>
    /// <exception cref="IOException">The DMA mapping or an mmap failed.</exception>
    public VfioPciPassthrough(IVfioDevice device, IPassthroughHost host, VfioPciLayout? layout = null)
    {
        Device = device ?? throw new ArgumentNullException(nameof(device));
        Host = host ?? throw new ArgumentNullException(nameof(host));
        Layout = layout ?? VfioPciLayout.Read(device);
        _msixRoutes = new IEventFdMsiRoute?[Layout.Definition.Msix?.VectorCount ?? 0];
        device.MapDma(host.DmaWindows);
        try
        {
            foreach (var (bar, region) in Layout.BarRegions)
            {
                var list = new List<(ulong, IVfioMapping)>();
                _mappings[bar] = list;
                foreach (var (offset, size) in MappableAreas(bar, region))
                {
                    list.Add((offset, device.Map(region, offset, size)));
                }
            }
        }
        catch
        {
            DisposeMappings();
            throw;
        }
    }

    /// <summary>The VFIO device.</summary>
    public IVfioDevice Device { get; }

    /// <summary>The backend's passthrough services.</summary>
    public IPassthroughHost Host { get; }

    /// <summary>What the guest sees.</summary>
    public VfioPciLayout Layout { get; }

    /// <summary>MSI as last given to VFIO (enabled, vectors, message).</summary>
    internal VfioMsiSettings AppliedMsi { get; set; } = VfioMsiSettings.Off;

    /// <summary>MSI-X enable as last given to VFIO.</summary>
    internal bool AppliedMsix { get; set; }

    /// <summary>The memory slots of BAR <paramref name="bar"/> now (for tests and diagnostics): guest address and size of each.</summary>
    public int MappedSlotCount(int bar)
    {
        lock (_lock)
        {
            return _slots.TryGetValue(bar, out var slots) ? slots.Count : 0;
        }
    }

    /// <summary>
    /// Puts BAR <paramref name="bar"/>'s mmapped areas at <paramref name="address"/> as memory slots (after removing the
    /// previous ones), or only removes them when not <paramref name="enabled"/>. A slot the backend refuses (the guest
    /// put the BAR over RAM) stays unmapped: that part is still served through the trap region by pread/pwrite.
    /// </summary>
    /// <returns>Slots mapped.</returns>
    public int PlaceBar(int bar, ulong address, bool enabled)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_slots.Remove(bar, out var old))
            {
                foreach (var slot in old)
                {
                    slot.Dispose();
                }
            }

            if (!enabled || address == 0 || !_mappings.TryGetValue(bar, out var areas))
            {
                return 0;
            }

            var placed = new List<IDisposable>();
            foreach (var (offset, mapping) in areas)
            {
                try
                {
                    placed.Add(Host.MapDeviceMemory(address + offset, mapping.Size, mapping.HostAddress));
                }
                catch (ArgumentException)
                {
                    // Not mappable there (over RAM, or past the address space): the trap region still serves it.
                }
                catch (IOException)
                {
                    // The kernel refused the slot: the same fallback.
                }
            }

            _slots[bar] = placed;
            return placed.Count;
        }
    }

    /// <summary>Wires the device's INTx to GSI <paramref name="gsi"/> once: an irqfd with resample, the trigger and unmask eventfds handed to VFIO.</summary>
    public void ConnectIntx(int gsi)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_intx is not null)
            {
                return;
            }

            var irq = Host.CreateLevelIrqFd(gsi);
            _intx = irq;
            try
            {
                ArmIntx();
            }
            catch
            {
                _intx = null;
                irq.Dispose();
                throw;
            }
        }
    }

    /// <summary>True while VFIO's INTx signals the irqfd (it is off while MSI or MSI-X is on: vfio-pci takes one interrupt type at a time).</summary>
    internal bool IntxArmed { get; private set; }

    /// <summary>Hands the INTx trigger and resample eventfds to VFIO (again), if INTx is wired and not armed.</summary>
    internal void ArmIntx()
    {
        lock (_lock)
        {
            if (_intx is null || IntxArmed)
            {
                return;
            }

            Device.SetIrqTriggers(VFIO_PCI_INTX_IRQ_INDEX, 0, [_intx.TriggerFd]);
            Device.SetIrqUnmaskFd(VFIO_PCI_INTX_IRQ_INDEX, _intx.ResampleFd);
            IntxArmed = true;
        }
    }

    /// <summary>Turns VFIO's INTx off (before MSI or MSI-X is armed).</summary>
    internal void DisarmIntx()
    {
        lock (_lock)
        {
            if (!IntxArmed)
            {
                return;
            }

            Device.DisableIrqs(VFIO_PCI_INTX_IRQ_INDEX);
            IntxArmed = false;
        }
    }

    /// <summary>The GSI INTx is wired to, or null.</summary>
    public int? IntxGsi
    {
        get
        {
            lock (_lock)
            {
                return _intx?.Gsi;
            }
        }
    }

    /// <summary>The route of MSI-X vector <paramref name="vector"/>, created (with <paramref name="message"/>) on first use.</summary>
    internal IEventFdMsiRoute MsixRoute(int vector, MsiMessage message)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _msixRoutes[vector] ??= Host.CreateEventFdMsiRoute(message);
        }
    }

    /// <summary>The eventfds of every MSI-X vector (routes created where missing, with an empty message that delivers nothing).</summary>
    internal int[] MsixEventFds()
    {
        lock (_lock)
        {
            int[] fds = new int[_msixRoutes.Length];
            for (int v = 0; v < fds.Length; v++)
            {
                fds[v] = MsixRoute(v, default).EventFd;
            }

            return fds;
        }
    }

    /// <summary>The first <paramref name="count"/> MSI routes (created where missing).</summary>
    internal IReadOnlyList<IEventFdMsiRoute> MsiRoutes(int count)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            while (_msiRoutes.Count < count)
            {
                _msiRoutes.Add(Host.CreateEventFdMsiRoute(default));
            }

            return [.. _msiRoutes.Take(count)];
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        // Interrupts off first, so the kernel stops signalling eventfds that are about to close.
        foreach (int index in (int[])[VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_INTX_IRQ_INDEX])
        {
            try
            {
                Device.DisableIrqs(index);
            }
            catch (IOException)
            {
                // The device fd closes next anyway, which disables them too.
            }
        }

        IEnumerable<IDisposable> hostSide = [.. _intx is null ? [] : new IDisposable[] { _intx }, .. _msixRoutes.OfType<IEventFdMsiRoute>(), .. _msiRoutes, .. _slots.Values.SelectMany(s => s)];
        foreach (var resource in hostSide)
        {
            try
            {
                resource.Dispose();
            }
            catch (ObjectDisposedException)
            {
                // The VM was torn down first: closing its fd already dropped its irqfds, routes and slots.
            }
        }

        DisposeMappings();
        Device.Dispose();
    }

    // The page-aligned parts of the region's mmappable areas, minus the pages holding the MSI-X table or PBA (those
    // must trap so the guest's table writes reach the virtual table).
    private List<(ulong Offset, ulong Size)> MappableAreas(int bar, VfioRegionInfo region)
    {
        const ulong page = GuestMemoryRegion.PageSize;
        var holes = new List<(ulong Start, ulong End)>();
        if (Layout.Definition.Msix is { } msix)
        {
            if (msix.Bar == bar)
            {
                holes.Add((msix.TableOffset & ~(page - 1), AlignUp(msix.TableOffset + msix.TableSize, page)));
            }

            if (msix.PbaBar == bar)
            {
                holes.Add((msix.PbaOffset & ~(page - 1), AlignUp(msix.PbaOffset + msix.PbaSize, page)));
            }
        }

        var areas = new List<(ulong, ulong)>();
        foreach (var area in region.MappableAreas)
        {
            ulong start = AlignUp(area.Offset, page);
            ulong end = Math.Min(area.Offset + area.Size, region.Size) & ~(page - 1);
            var pieces = new List<(ulong Start, ulong End)> { (start, end) };
            foreach (var (holeStart, holeEnd) in holes)
            {
                pieces = [.. pieces.SelectMany(p => Cut(p, holeStart, holeEnd))];
            }

            areas.AddRange(pieces.Where(p => p.End > p.Start).Select(p => (p.Start, p.End - p.Start)));
        }

        return areas;
    }

    private static IEnumerable<(ulong Start, ulong End)> Cut((ulong Start, ulong End) piece, ulong holeStart, ulong holeEnd)
    {
        if (holeEnd <= piece.Start || holeStart >= piece.End)
        {
            yield return piece;
            yield break;
        }

        if (holeStart > piece.Start)
        {
            yield return (piece.Start, holeStart);
        }

        if (holeEnd < piece.End)
        {
            yield return (holeEnd, piece.End);
        }
    }

    private static ulong AlignUp(ulong value, ulong alignment) => (value + alignment - 1) & ~(alignment - 1);

    private void DisposeMappings()
    {
        foreach (var mapping in _mappings.Values.SelectMany(m => m))
        {
            mapping.Mapping.Dispose();
        }

        _mappings.Clear();
    }
}

/// <summary>MSI as given to VFIO and the routes: enabled, vectors granted, message.</summary>
internal sealed record VfioMsiSettings(bool Enabled, int Vectors, ulong Address, uint Data)
{
    /// <summary>MSI off.</summary>
    public static VfioMsiSettings Off { get; } = new(false, 0, 0, 0);
}
