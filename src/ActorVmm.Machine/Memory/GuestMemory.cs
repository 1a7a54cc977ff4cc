using System.ComponentModel;
using System.Runtime.InteropServices;
using ActorVmm.Machine.Interop;
using ActorVmm.Machine.Layout;

namespace ActorVmm.Machine.Memory;

/// <summary>
/// Guest RAM: one anonymous host mapping (mmap with MAP_NORESERVE, so untouched guest pages cost no host
/// memory) split into slots placed in guest-physical space by a <see cref="MemoryLayout"/>. Every accessor
/// checks guest-controlled addresses and lengths against the slots before touching host memory, so a guest
/// can never make the host read or write outside its RAM.
/// <para>
/// Lifetime: the host-side copies (<see cref="Read(ulong, Span{byte})"/>, <see cref="Write(ulong, ReadOnlySpan{byte})"/>
/// and the scoped accesses of <see cref="GuestDma"/>) count themselves in flight. <see cref="Dispose"/> closes the
/// memory (every later access throws <see cref="GuestMemoryClosedException"/>), waits until the accesses in flight
/// have finished, and only then unmaps. Host addresses handed out by <see cref="TryTranslate"/> and
/// <see cref="GetSpan"/> are not counted: they are for vCPU threads and loaders, which the VM stops before it
/// disposes the memory.
/// </para>
/// </summary>
public sealed class GuestMemory : IDisposable
{
    // _access holds the number of host-side accesses in flight, plus ClosedFlag once the memory is closed.
    private const long ClosedFlag = 1L << 62;
    private const long CountMask = ClosedFlag - 1;

    private readonly object _drainGate = new();
    private readonly Lock _closeLock = new();
    private readonly nuint _hostSize;
    private readonly Lock _placeLock = new();
    private readonly List<DeviceRam> _deviceRams = [];
    private nint _host;
    private readonly int _ramSlotCount;
    private GuestMemoryRegion[] _regions;
    private long _access;

    private GuestMemory(IReadOnlyList<RamSlot> slots)
    {
        ArgumentNullException.ThrowIfNull(slots);
        _hostSize = (nuint)Validate(slots);
        nint host = Mman.mmap(0, _hostSize, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS | Mman.MAP_NORESERVE, -1, 0);
        if (host == Mman.MAP_FAILED)
        {
            throw new OutOfMemoryException($"mmap of {_hostSize} bytes of guest RAM failed: {new Win32Exception(Marshal.GetLastPInvokeError()).Message}");
        }

        _host = host;
        _regions = [.. slots.OrderBy(s => s.GuestPhysicalAddress).Select(s => new GuestMemoryRegion(this, s))];
        _ramSlotCount = slots.Max(s => s.Slot) + 1;
        TotalSize = slots.Aggregate(0UL, (sum, s) => sum + s.Size);
    }

    /// <summary>The slots, sorted by guest-physical address (empty once the memory is closed).</summary>
    public IReadOnlyList<GuestMemoryRegion> Regions => Volatile.Read(ref _regions);

    /// <summary>Total RAM in bytes.</summary>
    public ulong TotalSize { get; }

    /// <summary>True once <see cref="Dispose"/> has begun: every later access throws <see cref="GuestMemoryClosedException"/>.</summary>
    public bool IsClosed => (Volatile.Read(ref _access) & ClosedFlag) != 0;

    /// <summary>Optional observer told about host-side writes (decoded-instruction caches), and about device RAM moving.</summary>
    public IGuestMemoryWriteObserver? WriteObserver { get; set; }

    /// <summary>The backend's mirror of device RAM placements (KVM memory slots); null where the backend reads <see cref="Regions"/> itself.</summary>
    public IRamSlotListener? SlotListener { get; set; }

    /// <summary>Device RAM created on this memory, mapped or not.</summary>
    public IReadOnlyList<DeviceRam> DeviceRams
    {
        get
        {
            lock (_placeLock)
            {
                return [.. _deviceRams];
            }
        }
    }

    /// <summary>Test hook: runs just before the unmap with the number of accesses then in flight (always 0).</summary>
    internal Action<long>? BeforeUnmap { get; set; }

    /// <summary>Base of the host mapping.</summary>
    /// <exception cref="GuestMemoryClosedException">The memory was unmapped.</exception>
    internal nint HostBase
    {
        get
        {
            nint host = Volatile.Read(ref _host);
            return host != 0 ? host : throw new GuestMemoryClosedException();
        }
    }

    /// <summary>Creates guest memory with one slot of <paramref name="size"/> bytes at guest-physical 0.</summary>
    public static GuestMemory Create(ulong size) => new([new RamSlot(0, 0, size, 0)]);

    /// <summary>Creates the RAM of a VM with <paramref name="layout"/>: one host mapping, one slot per <see cref="MemoryLayout.RamSlots"/> entry.</summary>
    public static GuestMemory Create(MemoryLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        return new GuestMemory(layout.RamSlots);
    }

    /// <summary>Creates guest memory with the given slots (page-aligned, non-overlapping in guest and host space).</summary>
    /// <exception cref="ArgumentException">A slot is empty, unaligned, wraps the address space or overlaps another.</exception>
    public static GuestMemory Create(IReadOnlyList<RamSlot> slots) => new(slots);

    /// <summary>
    /// Allocates <paramref name="size"/> bytes of device RAM (zeroed, a whole number of pages) that the device maps into
    /// guest space with <see cref="DeviceRam.Place"/>. It takes the next memory slot number after the RAM slots and is
    /// unmapped with this memory.
    /// </summary>
    /// <exception cref="ArgumentException">The name is empty or the size is 0 or not a whole number of pages.</exception>
    /// <exception cref="OutOfMemoryException">The host cannot map it.</exception>
    /// <exception cref="GuestMemoryClosedException">The memory is closed.</exception>
    public DeviceRam CreateDeviceRam(string name, ulong size)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (size == 0 || size % GuestMemoryRegion.PageSize != 0 || size > nuint.MaxValue)
        {
            throw new ArgumentException($"device RAM '{name}' of 0x{size:X} bytes must be a non-empty whole number of 4 KiB pages", nameof(size));
        }

        lock (_placeLock)
        {
            if (IsClosed)
            {
                throw new GuestMemoryClosedException();
            }

            nint host = Mman.mmap(0, (nuint)size, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS | Mman.MAP_NORESERVE, -1, 0);
            if (host == Mman.MAP_FAILED)
            {
                throw new OutOfMemoryException($"mmap of {size} bytes of device RAM '{name}' failed: {new Win32Exception(Marshal.GetLastPInvokeError()).Message}");
            }

            int slot = _ramSlotCount + _deviceRams.Count;
            var device = new DeviceRam(this, name, slot, host, size);
            _deviceRams.Add(device);
            return device;
        }
    }

    /// <summary>True when the whole range is RAM: inside one slot, or across slots that follow each other in guest-physical space.</summary>
    public bool IsRam(ulong address, ulong length) => FindRun(Volatile.Read(ref _regions), address, length, requireHostContiguous: false) >= 0;

    /// <summary>
    /// Translates a guest-physical range inside one slot to a host address. For vCPU threads: the address is
    /// not counted as an access in flight, so the caller must be stopped before the memory is disposed.
    /// </summary>
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

    /// <summary>A span over guest RAM inside one slot, for loaders and tests while no vCPU runs (not counted as an access in flight).</summary>
    /// <exception cref="GuestMemoryException">The range is not RAM.</exception>
    public unsafe Span<byte> GetSpan(ulong address, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (!TryTranslate(address, (ulong)length, out nint host))
        {
            throw new GuestMemoryException(address, (ulong)length);
        }

        // Safe: TryTranslate proved [host, host + length) lies inside a live slot of the mapping.
        return new Span<byte>((void*)host, length);
    }

    /// <summary>Copies guest RAM into <paramref name="destination"/>; the range may cross slots that follow each other.</summary>
    /// <exception cref="GuestMemoryException">Some of the range is not RAM; nothing was read.</exception>
    /// <exception cref="GuestMemoryClosedException">The memory is closed.</exception>
    public unsafe void Read(ulong address, Span<byte> destination)
    {
        EnterAccess();
        try
        {
            var regions = Volatile.Read(ref _regions);
            ulong length = (ulong)destination.Length;
            int index = FindRun(regions, address, length, requireHostContiguous: false);
            if (index < 0)
            {
                throw new GuestMemoryException(address, length);
            }

            int done = 0;
            ulong cursor = address;
            while (done < destination.Length)
            {
                var region = regions[index++];
                int chunk = (int)Math.Min(length - (ulong)done, region.End - cursor);

                // Safe: FindRun proved [cursor, cursor + chunk) lies inside this slot, and the mapping stays until this access is no longer in flight.
                new ReadOnlySpan<byte>((void*)(region.HostAddress + (nint)(cursor - region.GuestPhysicalAddress)), chunk).CopyTo(destination[done..]);
                done += chunk;
                cursor += (ulong)chunk;
            }
        }
        finally
        {
            ExitAccess();
        }
    }

    /// <summary>Copies <paramref name="source"/> into guest RAM (the range may cross slots that follow each other) and tells the write observer.</summary>
    /// <exception cref="GuestMemoryException">Some of the range is not RAM; nothing was written.</exception>
    /// <exception cref="GuestMemoryClosedException">The memory is closed.</exception>
    public unsafe void Write(ulong address, ReadOnlySpan<byte> source)
    {
        EnterAccess();
        try
        {
            var regions = Volatile.Read(ref _regions);
            ulong length = (ulong)source.Length;
            int index = FindRun(regions, address, length, requireHostContiguous: false);
            if (index < 0)
            {
                throw new GuestMemoryException(address, length);
            }

            int done = 0;
            ulong cursor = address;
            while (done < source.Length)
            {
                var region = regions[index++];
                int chunk = (int)Math.Min(length - (ulong)done, region.End - cursor);

                // Safe: FindRun proved [cursor, cursor + chunk) lies inside this slot, and the mapping stays until this access is no longer in flight.
                source.Slice(done, chunk).CopyTo(new Span<byte>((void*)(region.HostAddress + (nint)(cursor - region.GuestPhysicalAddress)), chunk));
                done += chunk;
                cursor += (ulong)chunk;
            }

            if (length != 0)
            {
                WriteObserver?.OnHostWrite(address, length);
            }
        }
        finally
        {
            ExitAccess();
        }
    }

    /// <summary>Reads an unmanaged value in host byte order (little-endian, as x86 stores it).</summary>
    public T Read<T>(ulong address)
        where T : unmanaged
    {
        T value = default;
        Read(address, MemoryMarshal.AsBytes(new Span<T>(ref value)));
        return value;
    }

    /// <summary>Writes an unmanaged value in host byte order.</summary>
    public void Write<T>(ulong address, T value)
        where T : unmanaged => Write(address, MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)));

    /// <summary>Runs <paramref name="reader"/> over guest RAM in place, with the mapping pinned for the call.</summary>
    internal unsafe TResult Inspect<TResult>(ulong address, int length, GuestSpanReader<TResult> reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        EnterAccess();
        try
        {
            nint host = ResolveContiguous(address, (ulong)length);

            // Safe: ResolveContiguous proved the range is RAM contiguous in the host mapping, pinned until ExitAccess.
            return reader(new ReadOnlySpan<byte>((void*)host, length));
        }
        finally
        {
            ExitAccess();
        }
    }

    /// <summary>Runs <paramref name="writer"/> over guest RAM in place, with the mapping pinned for the call, then tells the write observer.</summary>
    internal unsafe void Modify(ulong address, int length, GuestSpanWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        EnterAccess();
        try
        {
            nint host = ResolveContiguous(address, (ulong)length);
            try
            {
                // Safe: ResolveContiguous proved the range is RAM contiguous in the host mapping, pinned until ExitAccess.
                writer(new Span<byte>((void*)host, length));
            }
            finally
            {
                // Even a writer that threw may have changed some bytes.
                if (length != 0)
                {
                    WriteObserver?.OnHostWrite(address, (ulong)length);
                }
            }
        }
        finally
        {
            ExitAccess();
        }
    }

    /// <summary>
    /// Closes the memory: every later access throws <see cref="GuestMemoryClosedException"/>; waits for the accesses in
    /// flight to finish, then unmaps. Must not be called from inside a scoped access on the same memory (it would wait for itself).
    /// </summary>
    public void Dispose()
    {
        lock (_closeLock)
        {
            if (_host == 0)
            {
                return;
            }

            long before = Interlocked.Or(ref _access, ClosedFlag);
            if ((before & CountMask) != 0)
            {
                lock (_drainGate)
                {
                    while ((Volatile.Read(ref _access) & CountMask) != 0)
                    {
                        Monitor.Wait(_drainGate);
                    }
                }
            }

            lock (_placeLock)
            {
                Volatile.Write(ref _regions, []);
            }

            BeforeUnmap?.Invoke(Volatile.Read(ref _access) & CountMask);
            nint host = _host;
            Volatile.Write(ref _host, 0);
            _ = Mman.munmap(host, _hostSize);
            foreach (var device in DeviceRams)
            {
                _ = Mman.munmap(device.Detach(), (nuint)device.Size);
            }
        }
    }

    /// <summary>The region placing <paramref name="device"/> now, or null while it is unmapped.</summary>
    internal GuestMemoryRegion? PlacementOf(DeviceRam device) =>
        Array.Find(Volatile.Read(ref _regions), r => ReferenceEquals(r.Device, device));

    /// <summary><see cref="DeviceRam.Place"/>: one placement change at a time, published as a new region array.</summary>
    internal bool PlaceDeviceRam(DeviceRam device, ulong guestAddress, bool enabled)
    {
        lock (_placeLock)
        {
            var regions = Volatile.Read(ref _regions);
            if (IsClosed)
            {
                return false;
            }

            var current = Array.Find(regions, r => ReferenceEquals(r.Device, device));
            if (current is not null && enabled && current.GuestPhysicalAddress == guestAddress)
            {
                return true;
            }

            if (current is not null)
            {
                regions = [.. regions.Where(r => !ReferenceEquals(r, current))];
                Volatile.Write(ref _regions, regions);
                SlotListener?.OnUnmapped(current);
                WriteObserver?.OnHostWrite(current.GuestPhysicalAddress, current.Size);
            }

            if (!enabled)
            {
                return true;
            }

            if (guestAddress % GuestMemoryRegion.PageSize != 0 || guestAddress > ulong.MaxValue - device.Size
                || regions.Any(r => r.GuestPhysicalAddress < guestAddress + device.Size && guestAddress < r.End))
            {
                return false;
            }

            var placed = new GuestMemoryRegion(this, device, guestAddress);
            try
            {
                SlotListener?.OnMapped(placed);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // The backend refused the slot (e.g. KVM found an overlap of its own): the memory stays unmapped.
                return false;
            }

            Volatile.Write(ref _regions, [.. regions.Append(placed).OrderBy(r => r.GuestPhysicalAddress)]);
            WriteObserver?.OnHostWrite(guestAddress, device.Size);
            return true;
        }
    }

    /// <summary>Counts an access in flight; refuses it once the memory is closed.</summary>
    internal void EnterAccess()
    {
        if ((Interlocked.Increment(ref _access) & ClosedFlag) != 0)
        {
            ExitAccess();
            throw new GuestMemoryClosedException();
        }
    }

    /// <summary>Ends an access counted by <see cref="EnterAccess"/>.</summary>
    internal void ExitAccess()
    {
        // The last access to leave a closed memory lets Dispose unmap.
        if (Interlocked.Decrement(ref _access) == ClosedFlag)
        {
            lock (_drainGate)
            {
                Monitor.PulseAll(_drainGate);
            }
        }
    }

    private nint ResolveContiguous(ulong address, ulong length)
    {
        if (length == 0)
        {
            return _host;
        }

        var regions = Volatile.Read(ref _regions);
        int index = FindRun(regions, address, length, requireHostContiguous: true);
        if (index < 0)
        {
            throw new GuestMemoryException(address, length);
        }

        var region = regions[index];
        return region.HostAddress + (nint)(address - region.GuestPhysicalAddress);
    }

    /// <summary>
    /// The index of the slot holding <paramref name="address"/> when [address, address + length) is RAM throughout: in that
    /// slot, or running on into the slots that start where the previous one ends (and, when asked, that also follow each
    /// other in the host mapping); -1 otherwise. An empty range is RAM anywhere (it touches nothing). Overflow-safe.
    /// </summary>
    private static int FindRun(GuestMemoryRegion[] regions, ulong address, ulong length, bool requireHostContiguous)
    {
        if (length == 0)
        {
            return 0;
        }

        for (int first = 0; first < regions.Length; first++)
        {
            var region = regions[first];
            if (address < region.GuestPhysicalAddress || address >= region.End)
            {
                continue;
            }

            ulong remaining = length;
            ulong cursor = address;
            for (int i = first; ; i++)
            {
                ulong available = regions[i].End - cursor;
                if (remaining <= available)
                {
                    return first;
                }

                remaining -= available;
                cursor = regions[i].End;
                bool next = i + 1 < regions.Length
                    && regions[i + 1].GuestPhysicalAddress == cursor
                    && (!requireHostContiguous || (regions[i].Device is null && regions[i + 1].Device is null && regions[i + 1].HostOffset == regions[i].HostOffset + regions[i].Size));
                if (!next)
                {
                    return -1;
                }
            }
        }

        return -1;
    }

    private static ulong Validate(IReadOnlyList<RamSlot> slots)
    {
        if (slots.Count == 0)
        {
            throw new ArgumentException("Guest memory needs at least one RAM slot", nameof(slots));
        }

        ulong hostSize = 0;
        foreach (var slot in slots)
        {
            if (slot.Size == 0 || slot.Size % GuestMemoryRegion.PageSize != 0 || slot.GuestPhysicalAddress % GuestMemoryRegion.PageSize != 0 || slot.HostOffset % GuestMemoryRegion.PageSize != 0)
            {
                throw new ArgumentException($"Guest RAM slot at 0x{slot.GuestPhysicalAddress:X} of 0x{slot.Size:X} bytes (host offset 0x{slot.HostOffset:X}) must be a non-empty whole number of 4 KiB pages, page-aligned", nameof(slots));
            }

            if (slot.GuestPhysicalAddress > ulong.MaxValue - slot.Size || slot.HostOffset > ulong.MaxValue - slot.Size)
            {
                throw new ArgumentException($"Guest RAM slot at 0x{slot.GuestPhysicalAddress:X} of 0x{slot.Size:X} bytes runs past the end of the address space", nameof(slots));
            }

            foreach (var other in slots)
            {
                if (ReferenceEquals(slot, other))
                {
                    continue;
                }

                if (slot.Slot == other.Slot)
                {
                    throw new ArgumentException($"Two guest RAM slots are numbered {slot.Slot}", nameof(slots));
                }

                if (slot.GuestPhysicalAddress < other.GuestPhysicalAddress + other.Size && other.GuestPhysicalAddress < slot.GuestPhysicalAddress + slot.Size)
                {
                    throw new ArgumentException($"RAM slot {slot.Slot} at 0x{slot.GuestPhysicalAddress:X} overlaps slot {other.Slot} at 0x{other.GuestPhysicalAddress:X}", nameof(slots));
                }

                if (slot.HostOffset < other.HostOffset + other.Size && other.HostOffset < slot.HostOffset + slot.Size)
                {
                    throw new ArgumentException($"RAM slots {slot.Slot} and {other.Slot} share host memory", nameof(slots));
                }
            }

            hostSize = Math.Max(hostSize, slot.HostOffset + slot.Size);
        }

        return hostSize;
    }

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
}
