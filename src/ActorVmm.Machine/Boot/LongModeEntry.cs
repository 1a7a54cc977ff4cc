using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Vcpu;

namespace ActorVmm.Machine.Boot;

/// <summary>
/// 64-bit entry (used for Linux boot): long mode with paging, the first
/// <see cref="IdentityMappedBytes"/> (4 GiB) of guest-physical memory identity-mapped with 2 MiB pages,
/// flat code/data segments from a GDT at <see cref="GdtAddress"/> with the selectors Linux's 64-bit boot
/// protocol asks for (__BOOT_CS = 0x10, __BOOT_DS = 0x18; Documentation/arch/x86/boot.rst). The table
/// addresses are Firecracker's; the four page directories map all of the 32-bit space, so the kernel,
/// its init_size, the zero page, the command line and an initrd anywhere below 4 GiB are identity-mapped.
/// <see cref="WriteTables"/> puts the GDT, an empty IDT and the page tables into guest RAM.
/// </summary>
/// <param name="InstructionPointer">RIP.</param>
/// <param name="StackPointer">RSP (and RBP).</param>
/// <param name="BootParams">RSI: the Linux boot_params address (0 when unused).</param>
public sealed record LongModeEntry(ulong InstructionPointer, ulong StackPointer, ulong BootParams = 0) : VcpuEntryState
{
    /// <summary>Guest-physical address of the GDT.</summary>
    public const ulong GdtAddress = 0x500;

    /// <summary>Guest-physical address of the (empty) IDT, after room for eight GDT descriptors.</summary>
    public const ulong IdtAddress = GdtAddress + 0x40;

    /// <summary>Guest-physical address of the PML4 table (CR3).</summary>
    public const ulong Pml4Address = 0x9000;

    /// <summary>Guest-physical address of the page-directory-pointer table.</summary>
    public const ulong PdptAddress = 0xA000;

    /// <summary>Guest-physical address of the first page directory (512 × 2 MiB entries each).</summary>
    public const ulong PdAddress = 0xB000;

    /// <summary>Page directories, one per GiB, in consecutive pages from <see cref="PdAddress"/>.</summary>
    public const int PageDirectoryCount = 4;

    /// <summary>Bytes identity-mapped by the page directories: the whole 32-bit space.</summary>
    public const ulong IdentityMappedBytes = (ulong)PageDirectoryCount << 30;

    /// <summary>End of the tables (one past the last page directory).</summary>
    public const ulong TablesEnd = PdAddress + (PageDirectoryCount * TablePageSize);

    /// <summary>Code segment selector (GDT entry 2, Linux's __BOOT_CS).</summary>
    public const ushort CodeSelector = 0x10;

    /// <summary>Data segment selector (GDT entry 3, Linux's __BOOT_DS) for DS, ES, FS, GS and SS.</summary>
    public const ushort DataSelector = 0x18;

    /// <summary>Task register selector (GDT entry 4).</summary>
    public const ushort TssSelector = 0x20;

    /// <summary>
    /// GDT descriptors: two null entries (Linux's GDT leaves entry 1 unused too), 64-bit code (L=1, G=1, P=1,
    /// type 0xB), data (D/B=1, G=1, type 0x3), 32-bit busy TSS. Accessed bits are set so the CPU never writes them.
    /// </summary>
    public static IReadOnlyList<ulong> GdtEntries { get; } = [0, 0, 0x00AF_9B00_0000_FFFF, 0x00CF_9300_0000_FFFF, 0x008F_8B00_0000_FFFF];

    private const ulong TablePageSize = 0x1000;
    private const ulong PagePresentWritable = 0x3;
    private const ulong PageSize2MiB = 0x80;
    private const ulong LargePageBytes = 2UL << 20;
    private const int PageTableEntries = 512;

    /// <summary>Writes the GDT, the empty IDT and the identity-mapping page tables into guest RAM.</summary>
    /// <exception cref="InvalidOperationException">Guest RAM does not cover the table addresses.</exception>
    public static void WriteTables(GuestMemory memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        if (!memory.IsRam(GdtAddress, TablesEnd - GdtAddress))
        {
            throw new InvalidOperationException($"64-bit entry needs guest RAM from 0x{GdtAddress:X} to 0x{TablesEnd:X} for its GDT and page tables");
        }

        for (int i = 0; i < GdtEntries.Count; i++)
        {
            memory.Write(GdtAddress + (ulong)(i * sizeof(ulong)), GdtEntries[i]);
        }

        memory.Write(IdtAddress, 0UL);
        memory.Write(Pml4Address, PdptAddress | PagePresentWritable);
        for (int directory = 0; directory < PageDirectoryCount; directory++)
        {
            ulong pd = PdAddress + ((ulong)directory * TablePageSize);
            memory.Write(PdptAddress + (ulong)(directory * sizeof(ulong)), pd | PagePresentWritable);
            for (int i = 0; i < PageTableEntries; i++)
            {
                ulong page = (ulong)((directory * PageTableEntries) + i);
                memory.Write(pd + (ulong)(i * sizeof(ulong)), (page * LargePageBytes) | PagePresentWritable | PageSize2MiB);
            }
        }
    }
}
