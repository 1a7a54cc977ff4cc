using ActorVmm.Machine.Layout;

namespace ActorVmm.Machine.Memory;

/// <summary>
/// One slot of guest RAM: a page-aligned piece of its <see cref="GuestMemory"/>'s single host mapping
/// (at <see cref="HostOffset"/>), placed at a guest-physical base.
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

    /// <summary>The memory slot number (KVM_SET_USER_MEMORY_REGION's slot).</summary>
    public int Slot { get; }

    /// <summary>First guest-physical address of the slot.</summary>
    public ulong GuestPhysicalAddress { get; }

    /// <summary>Size in bytes.</summary>
    public ulong Size { get; }

    /// <summary>One past the slot's last guest-physical address (never wraps: checked when the memory is created).</summary>
    public ulong End { get; }

    /// <summary>Offset of the slot inside the VM's one host mapping.</summary>
    public ulong HostOffset { get; }

    /// <summary>Host virtual address of the slot's first byte.</summary>
    /// <exception cref="GuestMemoryClosedException">The memory was closed and unmapped.</exception>
    public nint HostAddress => _owner.HostBase + (nint)HostOffset;

    /// <summary>True when [address, address + length) lies inside this slot (overflow-safe).</summary>
    public bool Contains(ulong address, ulong length) =>
        address >= GuestPhysicalAddress && length <= Size && address - GuestPhysicalAddress <= Size - length;

    /// <inheritdoc />
    public override string ToString() => $"slot {Slot} [0x{GuestPhysicalAddress:X}, 0x{End:X}) at host offset 0x{HostOffset:X}";
}
