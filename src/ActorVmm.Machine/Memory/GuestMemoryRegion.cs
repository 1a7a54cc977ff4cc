using ActorVmm.Machine.Layout;

namespace ActorVmm.Machine.Memory;

/// <summary>
/// One slot of guest RAM: a page-aligned piece of its <see cref="GuestMemory"/>'s single host mapping
/// (at <see cref="HostOffset"/>), placed at a guest-physical base; or the placement of a <see cref="DeviceRam"/>
/// (a framebuffer), whose host memory is its own mapping.
/// </summary>
public sealed class GuestMemoryRegion
{
    /// <summary>Host page size assumed for alignment checks.</summary>
    public const ulong PageSize = 4096;

    private readonly GuestMemory _owner;

    internal GuestMemoryRegion(GuestMemory owner, RamSlot slot)
    {
        _owner = owner;
        Slot = slot.Slot;
        GuestPhysicalAddress = slot.GuestPhysicalAddress;
        Size = slot.Size;
        HostOffset = slot.HostOffset;
        End = slot.GuestPhysicalAddress + slot.Size;
    }

    internal GuestMemoryRegion(GuestMemory owner, DeviceRam device, ulong guestPhysicalAddress)
    {
        _owner = owner;
        Device = device;
        Slot = device.Slot;
        GuestPhysicalAddress = guestPhysicalAddress;
        Size = device.Size;
        End = guestPhysicalAddress + device.Size;
    }

    /// <summary>The device RAM this region places, or null for a slot of the VM's RAM.</summary>
    public DeviceRam? Device { get; }

    /// <summary>The memory slot number (KVM_SET_USER_MEMORY_REGION's slot).</summary>
    public int Slot { get; }

    /// <summary>First guest-physical address of the slot.</summary>
    public ulong GuestPhysicalAddress { get; }

    /// <summary>Size in bytes.</summary>
    public ulong Size { get; }

    /// <summary>One past the slot's last guest-physical address (never wraps: checked when the memory is created).</summary>
    public ulong End { get; }

    /// <summary>Offset of the slot inside the VM's one host mapping (0 for device RAM, which has a mapping of its own).</summary>
    public ulong HostOffset { get; }

    /// <summary>Host virtual address of the slot's first byte.</summary>
    /// <exception cref="GuestMemoryClosedException">The memory was closed and unmapped.</exception>
    public nint HostAddress => Device is { } device ? device.HostBase : _owner.HostBase + (nint)HostOffset;

    /// <summary>True when [address, address + length) lies inside this slot (overflow-safe).</summary>
    public bool Contains(ulong address, ulong length) =>
        address >= GuestPhysicalAddress && length <= Size && address - GuestPhysicalAddress <= Size - length;

    /// <inheritdoc />
    public override string ToString() => Device is { } device
        ? $"slot {Slot} [0x{GuestPhysicalAddress:X}, 0x{End:X}) device RAM '{device.Name}'"
        : $"slot {Slot} [0x{GuestPhysicalAddress:X}, 0x{End:X}) at host offset 0x{HostOffset:X}";
}
