using System.ComponentModel;
using System.Runtime.InteropServices;
using ActorVmm.Machine.Interop;

namespace ActorVmm.Machine.Memory;

/// <summary>
/// One slot of guest RAM: page-aligned anonymous host memory outside the GC heap (mmap with
/// MAP_NORESERVE, so untouched guest pages cost no host memory), mapped at a guest-physical base.
/// </summary>
public sealed class GuestMemoryRegion : IDisposable
{
    /// <summary>Host page size assumed for alignment checks.</summary>
    public const ulong PageSize = 4096;

    private nint _host;

    internal GuestMemoryRegion(int slot, ulong guestPhysicalAddress, ulong size)
    {
        if (size == 0 || size % PageSize != 0 || guestPhysicalAddress % PageSize != 0)
        {
            throw new ArgumentException($"Guest RAM slot at 0x{guestPhysicalAddress:X} of 0x{size:X} bytes must be a non-empty whole number of 4 KiB pages, page-aligned");
        }

        nint host = Mman.mmap(0, (nuint)size, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS | Mman.MAP_NORESERVE, -1, 0);
        if (host == Mman.MAP_FAILED)
        {
            throw new OutOfMemoryException($"mmap of {size} bytes of guest RAM failed: {new Win32Exception(Marshal.GetLastPInvokeError()).Message}");
        }

        Slot = slot;
        GuestPhysicalAddress = guestPhysicalAddress;
        Size = size;
        _host = host;
    }

    /// <summary>The memory slot number (KVM_SET_USER_MEMORY_REGION's slot).</summary>
    public int Slot { get; }

    /// <summary>First guest-physical address of the slot.</summary>
    public ulong GuestPhysicalAddress { get; }

    /// <summary>Size in bytes.</summary>
    public ulong Size { get; }

    /// <summary>Host virtual address of the slot's first byte.</summary>
    public nint HostAddress => _host != 0 ? _host : throw new ObjectDisposedException(nameof(GuestMemoryRegion));

    /// <summary>True when [address, address + length) lies inside this slot (overflow-safe).</summary>
    public bool Contains(ulong address, ulong length) =>
        address >= GuestPhysicalAddress && length <= Size && address - GuestPhysicalAddress <= Size - length;

    /// <inheritdoc />
    public void Dispose()
    {
        nint host = Interlocked.Exchange(ref _host, 0);
        if (host != 0)
        {
            _ = Mman.munmap(host, (nuint)Size);
        }
    }
}
