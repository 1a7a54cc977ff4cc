using ActorVmm.Machine.Layout;

namespace ActorVmm.Devices.Pci;

/// <summary>
/// Assigns every BAR of the VM's PCI functions an address at creation, the way firmware does before an OS runs: each BAR
/// naturally aligned (memory BARs at least to a page, so a guest can map them on their own) and packed upwards from the
/// start of its window, in the order the functions are added. One allocator per VM (per boot generation).
/// </summary>
public sealed class PciBarAllocator
{
    private readonly PciBarWindows _windows;
    private readonly Dictionary<string, ulong> _next = new(StringComparer.Ordinal);

    /// <summary>Creates an allocator over <paramref name="windows"/>, every window empty.</summary>
    public PciBarAllocator(PciBarWindows windows) => _windows = windows ?? throw new ArgumentNullException(nameof(windows));

    /// <summary>The address of every BAR of <paramref name="definition"/>, by BAR register index.</summary>
    /// <param name="owner">The device's name, for the error message.</param>
    /// <param name="definition">The function whose BARs are placed.</param>
    /// <exception cref="InvalidOperationException">A window has no room left for a BAR.</exception>
    public IReadOnlyDictionary<int, ulong> Assign(string owner, PciFunctionDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        definition.Validate();
        var assigned = new Dictionary<int, ulong>();

        // Largest first: a function's smaller BARs fill the alignment gaps its larger ones leave.
        foreach (var bar in definition.Bars.OrderByDescending(b => b.Size).ThenBy(b => b.Index))
        {
            assigned[bar.Index] = Take(owner, bar, _windows.For(bar.Kind));
        }

        return assigned;
    }

    /// <summary>
    /// Checks the fixed addresses of <paramref name="definition"/>'s BARs (<see cref="PciDeviceDefinition.FixedBars"/>):
    /// one per BAR, naturally aligned as <see cref="Assign"/> would align it, inside the BAR kind's address space and clear
    /// of every window this allocator assigns from (so no assigned BAR can land on it).
    /// </summary>
    /// <param name="owner">The device's name, for the error message.</param>
    /// <param name="definition">The function whose BARs are placed.</param>
    /// <param name="addresses">The address of every BAR, by register index.</param>
    /// <exception cref="ArgumentException">A BAR has no address, or its address is misaligned, out of range or inside a window.</exception>
    public IReadOnlyDictionary<int, ulong> Fixed(string owner, PciFunctionDefinition definition, IReadOnlyDictionary<int, ulong> addresses)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(addresses);
        definition.Validate();
        var assigned = new Dictionary<int, ulong>();
        foreach (var bar in definition.Bars)
        {
            if (!addresses.TryGetValue(bar.Index, out ulong address))
            {
                throw new ArgumentException($"BAR {bar.Index} of '{owner}' has no fixed address", nameof(addresses));
            }

            ulong limit = bar.Kind switch
            {
                PciBarKind.Io => PciIoSpace.LastPort + 1,
                PciBarKind.Memory32 => (ulong)uint.MaxValue + 1,
                _ => ulong.MaxValue,
            };
            bool overlapsWindow = new[] { _windows.Io, _windows.Memory32, _windows.Memory64 }
                .Any(w => w is not null && w.Bus == bar.Bus && address < w.Base + w.Size && w.Base < address + bar.Size);
            if (address == 0 || address % Alignment(bar) != 0 || address > limit - bar.Size || overlapsWindow)
            {
                throw new ArgumentException($"BAR {bar.Index} of '{owner}' (0x{bar.Size:X} bytes) cannot be fixed at 0x{address:X}: it must be naturally aligned, inside its address space and outside the PCI windows", nameof(addresses));
            }

            assigned[bar.Index] = address;
        }

        return assigned;
    }

    private static ulong Alignment(PciBarDefinition bar) => bar.Kind == PciBarKind.Io ? bar.Size : Math.Max(bar.Size, MemoryMap.PageSize);

    private ulong Take(string owner, PciBarDefinition bar, MemoryMapRegion window)
    {
        ulong alignment = Alignment(bar);
        ulong next = _next.GetValueOrDefault(window.Name, window.Base);
        ulong address = (next + alignment - 1) & ~(alignment - 1);
        if (address < next || address < window.Base || address - window.Base > window.Size || window.Size - (address - window.Base) < bar.Size)
        {
            throw new InvalidOperationException($"PCI window {window.Name} (0x{window.Base:X}, 0x{window.Size:X} bytes) has no room for BAR {bar.Index} of '{owner}' (0x{bar.Size:X} bytes)");
        }

        _next[window.Name] = address + bar.Size;
        return address;
    }
}
