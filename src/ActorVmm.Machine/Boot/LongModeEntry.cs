using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Vcpu;

namespace ActorVmm.Machine.Boot;

/// <summary>
/// 64-bit entry (used for Linux boot): long mode with paging, the first
/// <see cref="IdentityMappedBytes"/> of guest-physical memory identity-mapped with 2 MiB pages,
/// flat code/data segments from a GDT at <see cref="GdtAddress"/> — the layout Firecracker uses.
/// <see cref="WriteTables"/> puts the GDT, an empty IDT and the page tables into guest RAM.
/// </summary>
/// <param name="InstructionPointer">RIP.</param>
/// <param name="StackPointer">RSP (and RBP).</param>
/// <param name="BootParams">RSI: the Linux boot_params address (0 when unused).</param>
public sealed record LongModeEntry(ulong InstructionPointer, ulong StackPointer, ulong BootParams = 0) : VcpuEntryState
{
    /// <summary>Guest-physical address of the GDT.</summary>
    public const ulong GdtAddress = 0x500;

    /// <summary>Guest-physical address of the (empty) IDT.</summary>
    public const ulong IdtAddress = 0x520;

    /// <summary>Guest-physical address of the PML4 table (CR3).</summary>
    public const ulong Pml4Address = 0x9000;

    /// <summary>Guest-physical address of the page-directory-pointer table.</summary>
    public const ulong PdptAddress = 0xA000;

    /// <summary>Guest-physical address of the page directory (512 × 2 MiB entries).</summary>
    public const ulong PdAddress = 0xB000;

    /// <summary>Bytes identity-mapped by the page directory.</summary>
    public const ulong IdentityMappedBytes = 1UL << 30;

    /// <summary>Code segment selector (GDT entry 1).</summary>
    public const ushort CodeSelector = 0x08;

    /// <summary>Data segment selector (GDT entry 2) for DS, ES, FS, GS and SS.</summary>
    public const ushort DataSelector = 0x10;

    /// <summary>Task register selector (GDT entry 3).</summary>
    public const ushort TssSelector = 0x18;

    /// <summary>GDT descriptors: null, 64-bit code (L=1, G=1, P=1, type 0xB), data (D/B=1, G=1, type 0x3), 32-bit busy TSS.</summary>
    public static IReadOnlyList<ulong> GdtEntries { get; } = [0, 0x00AF_9B00_0000_FFFF, 0x00CF_9300_0000_FFFF, 0x008F_8B00_0000_FFFF];

    private const ulong PagePresentWritable = 0x3;
    private const ulong PageSize2MiB = 0x80;
    private const ulong LargePageBytes = 2UL << 20;
    private const int PageTableEntries = 512;

    /// <summary>Writes the GDT, the empty IDT and the identity-mapping page tables into guest RAM.</summary>
    /// <exception cref="InvalidOperationException">Guest RAM does not cover the table addresses.</exception>
    public static void WriteTables(GuestMemory memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        if (!memory.IsRam(GdtAddress, PdAddress + 0x1000 - GdtAddress))
        {
            throw new InvalidOperationException($"64-bit entry needs guest RAM from 0x{GdtAddress:X} to 0x{PdAddress + 0x1000:X} for its GDT and page tables");
        }

        for (int i = 0; i < GdtEntries.Count; i++)
        {
            memory.Write(GdtAddress + (ulong)(i * sizeof(ulong)), GdtEntries[i]);
        }

        memory.Write(IdtAddress, 0UL);
        memory.Write(Pml4Address, PdptAddress | PagePresentWritable);
        memory.Write(PdptAddress, PdAddress | PagePresentWritable);
        for (int i = 0; i < PageTableEntries; i++)
        {
            memory.Write(PdAddress + (ulong)(i * sizeof(ulong)), ((ulong)i * LargePageBytes) | PagePresentWritable | PageSize2MiB);
        }
    }
}
