using ActorVmm.Machine.Layout;

namespace ActorVmm.Devices.Virtio.Mmio;

/// <summary>
/// Hands out virtio-mmio windows from the memory map's virtio-mmio window, one after another
/// (<see cref="VirtioMmioRegisters.WindowSize"/> bytes each, as kvmtool does), each with the next interrupt line of a
/// list the platform reserved for virtio. Not thread-safe: a VM's device list is built on one thread.
/// </summary>
public sealed class VirtioMmioAllocator
{
    /// <summary>Name of the window in every memory map.</summary>
    public const string WindowName = "virtio-mmio";

    private readonly MemoryMapRegion _window;
    private readonly IReadOnlyList<int> _irqs;
    private int _next;

    /// <summary>Allocates from <paramref name="map"/>'s virtio-mmio window with the interrupt lines <paramref name="irqs"/>.</summary>
    /// <exception cref="KeyNotFoundException">The map has no virtio-mmio window.</exception>
    public VirtioMmioAllocator(MemoryMap map, IReadOnlyList<int> irqs)
    {
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(irqs);
        _window = map.Region(WindowName);
        if (irqs.Distinct().Count() != irqs.Count || irqs.Any(irq => irq < 0))
        {
            throw new ArgumentException("virtio-mmio interrupt lines must be distinct and non-negative", nameof(irqs));
        }

        _irqs = [.. irqs];
    }

    /// <summary>How many windows fit (the smaller of the window space and the interrupt lines).</summary>
    public int Capacity => (int)Math.Min((ulong)_irqs.Count, _window.Size / VirtioMmioRegisters.WindowSize);

    /// <summary>Windows handed out so far.</summary>
    public int Allocated => _next;

    /// <summary>The next free window and interrupt line.</summary>
    /// <exception cref="InvalidOperationException">No window or interrupt line is left.</exception>
    public VirtioMmioSlot Allocate()
    {
        if (_next >= Capacity)
        {
            throw new InvalidOperationException(
                $"No virtio-mmio slot left: {Capacity} fit in {_window} with {_irqs.Count} interrupt lines, all in use");
        }

        var slot = new VirtioMmioSlot(_window.Base + ((ulong)_next * VirtioMmioRegisters.WindowSize), VirtioMmioRegisters.WindowSize, _irqs[_next]);
        _next++;
        return slot;
    }
}
