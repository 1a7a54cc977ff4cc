using System.Runtime.InteropServices;

namespace ActorVmm.Machine.Memory;

/// <summary>
/// Guest RAM: a set of non-overlapping slots. Every accessor checks guest-controlled addresses and
/// lengths against the slots before touching host memory, so a guest can never make the host read
/// or write outside its RAM.
/// </summary>
public sealed class GuestMemory : IDisposable
{
    private GuestMemoryRegion[] _regions = [];

    /// <summary>The slots, sorted by guest-physical address.</summary>
    public IReadOnlyList<GuestMemoryRegion> Regions => Volatile.Read(ref _regions);

    /// <summary>Total RAM in bytes.</summary>
    public ulong TotalSize => Regions.Aggregate(0UL, (sum, r) => sum + r.Size);

    /// <summary>Optional observer told about host-side writes (decoded-instruction caches).</summary>
    public IGuestMemoryWriteObserver? WriteObserver { get; set; }

    /// <summary>Creates guest memory with one slot of <paramref name="size"/> bytes at guest-physical 0.</summary>
    public static GuestMemory Create(ulong size)
    {
        var memory = new GuestMemory();
        memory.AddRegion(0, size);
        return memory;
    }

    /// <summary>Adds a RAM slot; it must not overlap an existing one.</summary>
    public GuestMemoryRegion AddRegion(ulong guestPhysicalAddress, ulong size)
    {
        lock (this)
        {
            var current = _regions;
            foreach (var r in current)
            {
                if (guestPhysicalAddress < r.GuestPhysicalAddress + r.Size && r.GuestPhysicalAddress < guestPhysicalAddress + size)
                {
                    throw new ArgumentException($"RAM slot at 0x{guestPhysicalAddress:X} overlaps slot {r.Slot} at 0x{r.GuestPhysicalAddress:X}");
                }
            }

            var region = new GuestMemoryRegion(current.Length, guestPhysicalAddress, size);
            Volatile.Write(ref _regions, [.. current.Append(region).OrderBy(r => r.GuestPhysicalAddress)]);
            return region;
        }
    }

    /// <summary>True when the whole range is RAM inside one slot.</summary>
    public bool IsRam(ulong address, ulong length) => FindRegion(address, length) is not null;

    /// <summary>Translates a guest-physical range inside one slot to a host address.</summary>
    public bool TryTranslate(ulong address, ulong length, out nint host)
    {
        var region = FindRegion(address, length);
        if (region is null)
        {
            host = 0;
            return false;
        }

        host = region.HostAddress + (nint)(address - region.GuestPhysicalAddress);
        return true;
    }

    /// <summary>A span over guest RAM; the range must lie inside one slot.</summary>
    /// <exception cref="GuestMemoryException">The range is not RAM.</exception>
    public unsafe Span<byte> GetSpan(ulong address, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (!TryTranslate(address, (ulong)length, out nint host))
        {
            throw new GuestMemoryException(address, (ulong)length);
        }

        // Safe: TryTranslate proved [host, host + length) lies inside a live mmap'd slot.
        return new Span<byte>((void*)host, length);
    }

    /// <summary>Copies guest RAM into <paramref name="destination"/>.</summary>
    public void Read(ulong address, Span<byte> destination) => GetSpan(address, destination.Length).CopyTo(destination);

    /// <summary>Copies <paramref name="source"/> into guest RAM and tells the write observer.</summary>
    public void Write(ulong address, ReadOnlySpan<byte> source)
    {
        source.CopyTo(GetSpan(address, source.Length));
        WriteObserver?.OnHostWrite(address, (ulong)source.Length);
    }

    /// <summary>Reads an unmanaged value (little-endian, as x86 stores it).</summary>
    public T Read<T>(ulong address)
        where T : unmanaged => MemoryMarshal.Read<T>(GetSpan(address, Marshal.SizeOf<T>()));

    /// <summary>Writes an unmanaged value.</summary>
    public void Write<T>(ulong address, T value)
        where T : unmanaged => Write(address, MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)));

    private GuestMemoryRegion? FindRegion(ulong address, ulong length)
    {
        foreach (var region in Volatile.Read(ref _regions))
        {
            if (region.Contains(address, length))
            {
                return region;
            }
        }

        return null;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        var regions = Interlocked.Exchange(ref _regions, []);
        foreach (var region in regions)
        {
            region.Dispose();
        }
    }
}
