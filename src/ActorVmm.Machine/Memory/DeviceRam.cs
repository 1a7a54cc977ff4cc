namespace ActorVmm.Machine.Memory;

/// <summary>
/// Host memory a device owns and the guest reaches as RAM wherever the device places it (kvmtool's
/// <c>kvm__register_dev_mem</c>: the VESA framebuffer behind a PCI memory BAR). Guest accesses to it cost no exit on
/// either backend: KVM maps it as a memory slot (through <see cref="IRamSlotListener"/>), the emulator finds it among
/// <see cref="GuestMemory.Regions"/>. Its own anonymous mapping lives as long as the VM's <see cref="GuestMemory"/>, so a
/// device rebuilt after a failure finds the same pixels, and a host pointer a vCPU still holds after a move stays valid.
/// <para>
/// Created with <see cref="GuestMemory.CreateDeviceRam"/>; unmapped (not decoding) until <see cref="Place"/> maps it.
/// </para>
/// </summary>
public sealed class DeviceRam
{
    private readonly GuestMemory _owner;
    private nint _host;

    internal DeviceRam(GuestMemory owner, string name, int slot, nint host, ulong size)
    {
        _owner = owner;
        Name = name;
        Slot = slot;
        _host = host;
        Size = size;
    }

    /// <summary>The device's name for logs ("vesa").</summary>
    public string Name { get; }

    /// <summary>The memory slot number it takes when mapped (after the VM's RAM slots).</summary>
    public int Slot { get; }

    /// <summary>Bytes, a whole number of pages.</summary>
    public ulong Size { get; }

    /// <summary>Where the guest reaches it now, or null while it is not mapped.</summary>
    public ulong? GuestAddress => _owner.PlacementOf(this)?.GuestPhysicalAddress;

    /// <summary>Base of the host mapping.</summary>
    /// <exception cref="GuestMemoryClosedException">The VM's memory was closed and this mapping unmapped.</exception>
    internal nint HostBase
    {
        get
        {
            nint host = Volatile.Read(ref _host);
            return host != 0 ? host : throw new GuestMemoryClosedException();
        }
    }

    /// <summary>
    /// Maps the memory at guest-physical <paramref name="guestAddress"/> when <paramref name="enabled"/>, else takes it out
    /// of guest space. Never throws for a guest-chosen address: a placement that is not page-aligned, wraps, or overlaps RAM
    /// or other device RAM is refused (the memory is then not mapped anywhere) and false is returned. Safe from a vCPU
    /// thread while other vCPUs run; the move is complete when this returns.
    /// </summary>
    /// <returns>True when the memory now decodes as asked (mapped at the address, or unmapped when not enabled).</returns>
    public bool Place(ulong guestAddress, bool enabled) => _owner.PlaceDeviceRam(this, guestAddress, enabled);

    /// <summary>
    /// Copies bytes from offset <paramref name="offset"/> into <paramref name="destination"/> while the guest may be writing
    /// them (a screenshot reads the framebuffer without stopping the vCPUs: it may see a frame being drawn, never memory
    /// outside this mapping).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside the memory.</exception>
    /// <exception cref="GuestMemoryClosedException">The VM's memory is closed.</exception>
    public unsafe void Read(ulong offset, Span<byte> destination)
    {
        CheckRange(offset, (ulong)destination.Length);
        _owner.EnterAccess();
        try
        {
            // Safe: the range was checked against Size and the mapping stays until this access is no longer in flight.
            new ReadOnlySpan<byte>((void*)(HostBase + (nint)offset), destination.Length).CopyTo(destination);
        }
        finally
        {
            _owner.ExitAccess();
        }
    }

    /// <summary>Copies <paramref name="source"/> into the memory at <paramref name="offset"/> (a device clearing its memory, tests).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside the memory.</exception>
    /// <exception cref="GuestMemoryClosedException">The VM's memory is closed.</exception>
    public unsafe void Write(ulong offset, ReadOnlySpan<byte> source)
    {
        CheckRange(offset, (ulong)source.Length);
        _owner.EnterAccess();
        try
        {
            // Safe: the range was checked against Size and the mapping stays until this access is no longer in flight.
            source.CopyTo(new Span<byte>((void*)(HostBase + (nint)offset), source.Length));
        }
        finally
        {
            _owner.ExitAccess();
        }

        if (GuestAddress is { } placed && source.Length != 0)
        {
            _owner.WriteObserver?.OnHostWrite(placed + offset, (ulong)source.Length);
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"device RAM '{Name}' (slot {Slot}, 0x{Size:X} bytes{(GuestAddress is { } a ? $" at 0x{a:X}" : ", unmapped")})";

    /// <summary>Takes the mapping away for the unmap at close; the caller unmaps it once no access is in flight.</summary>
    internal nint Detach() => Interlocked.Exchange(ref _host, 0);

    private void CheckRange(ulong offset, ulong length)
    {
        if (offset > Size || length > Size - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"0x{length:X} bytes at offset 0x{offset:X} are not inside the 0x{Size:X} bytes of {Name}");
        }
    }
}
