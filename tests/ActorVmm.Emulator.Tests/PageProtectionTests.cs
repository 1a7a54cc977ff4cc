using ActorVmm.Emulator.Cpu;
using ActorVmm.Machine.Vcpu;

namespace ActorVmm.Emulator.Tests;

/// <summary>
/// Page protection of 4-level paging (and PAE/32-bit where they differ): U/S, R/W with CR0.WP, XD with EFER.NXE,
/// reserved bits, rights combined over all levels, the exact #PF error code (SDM vol. 3, 4.7) and CR2, and a TLB that
/// caches rights without letting a later access through that the walk would refuse.
/// </summary>
public sealed class PageProtectionTests : IDisposable
{
    // Page-fault error code bits, SDM vol. 3, figure 4-12.
    private const uint ErrPresent = 1 << 0;
    private const uint ErrWrite = 1 << 1;
    private const uint ErrUser = 1 << 2;
    private const uint ErrReserved = 1 << 3;
    private const uint ErrFetch = 1 << 4;

    // Paging-structure entry bits, SDM vol. 3, tables 4-15 to 4-20.
    private const ulong Present = 1UL << 0;
    private const ulong Writable = 1UL << 1;
    private const ulong User = 1UL << 2;
    private const ulong Accessed = 1UL << 5;
    private const ulong Dirty = 1UL << 6;
    private const ulong Large = 1UL << 7;
    private const ulong NoExecute = 1UL << 63;
    private const ulong AllRights = Present | Writable | User;

    /// <summary>Physical-address bit 40: above MAXPHYADDR (36), so reserved in an entry.</summary>
    private const ulong AddressBit40 = 1UL << 40;

    private const ulong Memory = 16 * 1024 * 1024;
    private const ulong Pdpt = 0x10_0000;
    private const ulong Directory = 0x10_1000;
    private const ulong Table = 0x10_2000;
    private const ulong Pml4 = 0x10_3000;
    private const ulong GdtAddress = 0x9000;
    private const ulong Linear = 0x40_5000;
    private const ulong Physical = 0x7000;
    private const ulong Offset = 0x123;
    private const byte Nop = 0x90;
    private const uint Value = 0x1234_5678;

    private const ushort KernelCode = 0x10;
    private const ushort UserData = 0x2B;
    private const ushort UserCode = 0x33;
    private const ulong KernelCodeDescriptor = 0x00AF_9B00_0000_FFFF;
    private const ulong UserCodeDescriptor = 0x00AF_FB00_0000_FFFF;
    private const ulong UserDataDescriptor = 0x00CF_F300_0000_FFFF;
    private const ushort UserCode32 = 0x3B;
    private const ulong UserCode32Descriptor = 0x00CF_FB00_0000_FFFF;

    private readonly EmulatorVm _vm = new(new VmSpec("protection", Memory));

    private X86Core Core => _vm.Core(0);

    [Fact]
    public void A_user_read_of_a_supervisor_page_faults_with_p_and_u_and_sets_cr2()
    {
        Setup(user: true, pte: Present | Writable);

        var fault = Assert.Throws<GuestFault>(() => Core.ReadLinear(Linear + Offset, sizeof(uint)));

        Assert.Equal(ExceptionVector.PF, fault.Vector);
        Assert.Equal(ErrPresent | ErrUser, fault.ErrorCode);
        Assert.Equal(Linear + Offset, Core.Cr2);
    }

    [Fact]
    public void A_supervisor_bit_at_an_upper_level_alone_denies_user_access()
    {
        Setup(user: true, pte: AllRights, directory: Present | Writable);

        var fault = Assert.Throws<GuestFault>(() => Core.ReadLinear(Linear, sizeof(uint)));

        Assert.Equal(ErrPresent | ErrUser, fault.ErrorCode);
    }

    [Fact]
    public void A_user_page_at_every_level_is_readable_and_writable_from_ring_3()
    {
        Setup(user: true, pte: AllRights);

        Core.WriteLinear(Linear + Offset, sizeof(uint), Value);

        Assert.Equal(Value, Core.ReadLinear(Linear + Offset, sizeof(uint)));
        Assert.Equal(Accessed | Dirty, PteValue() & (Accessed | Dirty));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_user_write_to_a_read_only_page_faults_whatever_cr0_wp_says(bool writeProtect)
    {
        Setup(user: true, pte: Present | User, writeProtect: writeProtect);

        var fault = Assert.Throws<GuestFault>(() => Core.WriteLinear(Linear, sizeof(uint), Value));

        Assert.Equal(ErrPresent | ErrWrite | ErrUser, fault.ErrorCode);
        Assert.Equal(0u, _vm.Memory.Read<uint>(Physical));
        Assert.Equal(0UL, PteValue() & Dirty);
    }

    [Fact]
    public void A_read_only_bit_at_an_upper_level_makes_the_page_read_only_for_user_writes()
    {
        Setup(user: true, pte: AllRights, pml4: Present | User);

        var fault = Assert.Throws<GuestFault>(() => Core.WriteLinear(Linear, sizeof(uint), Value));

        Assert.Equal(ErrPresent | ErrWrite | ErrUser, fault.ErrorCode);
    }

    [Fact]
    public void A_supervisor_write_to_a_read_only_page_succeeds_with_wp_clear_and_faults_with_wp_set()
    {
        Setup(user: false, pte: Present);
        Core.WriteLinear(Linear, sizeof(uint), Value);
        Assert.Equal(Value, _vm.Memory.Read<uint>(Physical));

        Core.Cr0 |= X86Core.Cr0WP;
        Core.FlushTlb();
        var fault = Assert.Throws<GuestFault>(() => Core.WriteLinear(Linear, sizeof(uint), 0));

        Assert.Equal(ErrPresent | ErrWrite, fault.ErrorCode);
        Assert.Equal(Value, _vm.Memory.Read<uint>(Physical));
    }

    [Fact]
    public void A_supervisor_may_read_and_execute_a_user_page_without_smep_or_smap()
    {
        Setup(user: false, pte: AllRights);
        _vm.Memory.Write(Physical, Nop);
        Core.Rip = Linear;

        Core.Step();

        Assert.Equal(Linear + 1, Core.Rip);
        Assert.Equal((ulong)Nop, Core.ReadLinear(Linear, sizeof(byte)));
    }

    [Theory]
    [InlineData(false, ErrPresent | ErrFetch)]
    [InlineData(true, ErrPresent | ErrUser | ErrFetch)]
    public void A_fetch_from_an_xd_page_with_nxe_faults_with_the_fetch_bit(bool user, uint expected)
    {
        Setup(user, pte: AllRights | NoExecute, nxe: true);
        _vm.Memory.Write(Physical, Nop);
        Core.Rip = Linear;

        var fault = Assert.Throws<GuestFault>(() => Core.Step());

        Assert.Equal(ExceptionVector.PF, fault.Vector);
        Assert.Equal(expected, fault.ErrorCode);
        Assert.Equal(Linear, Core.Cr2);
    }

    [Fact]
    public void Xd_at_an_upper_level_forbids_fetches_but_not_reads()
    {
        Setup(user: false, pte: AllRights, directory: AllRights | NoExecute, nxe: true);
        _vm.Memory.Write(Physical, Nop);
        Core.Rip = Linear;

        Assert.Equal((ulong)Nop, Core.ReadLinear(Linear, sizeof(byte)));
        var fault = Assert.Throws<GuestFault>(() => Core.Step());

        Assert.Equal(ErrPresent | ErrFetch, fault.ErrorCode);
    }

    [Fact]
    public void The_xd_bit_without_nxe_is_a_reserved_bit_fault_on_any_access()
    {
        Setup(user: false, pte: AllRights | NoExecute, nxe: false);

        var fault = Assert.Throws<GuestFault>(() => Core.ReadLinear(Linear, sizeof(uint)));

        Assert.Equal(ErrPresent | ErrReserved, fault.ErrorCode);
    }

    [Fact]
    public void A_physical_address_bit_above_maxphyaddr_is_a_reserved_bit_fault_with_the_access_bits()
    {
        Setup(user: true, pte: AllRights | AddressBit40);

        var fault = Assert.Throws<GuestFault>(() => Core.WriteLinear(Linear, sizeof(uint), Value));

        Assert.Equal(ErrPresent | ErrWrite | ErrUser | ErrReserved, fault.ErrorCode);
        Assert.Equal(0UL, PteValue() & (Accessed | Dirty));
    }

    [Fact]
    public void The_page_size_bit_in_a_pml4_entry_is_reserved()
    {
        Setup(user: false, pte: AllRights, pml4: AllRights | Large);

        var fault = Assert.Throws<GuestFault>(() => Core.ReadLinear(Linear, sizeof(uint)));

        Assert.Equal(ErrPresent | ErrReserved, fault.ErrorCode);
    }

    [Fact]
    public void A_not_present_page_reports_p_clear_with_the_user_and_fetch_bits()
    {
        Setup(user: true, pte: 0, nxe: true);
        Core.Rip = Linear;

        var fault = Assert.Throws<GuestFault>(() => Core.Step());

        Assert.Equal(ErrUser | ErrFetch, fault.ErrorCode);
    }

    [Fact]
    public void Without_nxe_a_fetch_fault_does_not_report_the_fetch_bit()
    {
        Setup(user: false, pte: 0, nxe: false);
        Core.Rip = Linear;

        var fault = Assert.Throws<GuestFault>(() => Core.Step());

        Assert.Equal(0u, fault.ErrorCode);
    }

    [Fact]
    public void A_translation_cached_by_a_supervisor_read_does_not_let_a_user_read_through()
    {
        Setup(user: false, pte: Present | Writable);
        Assert.Equal(0UL, Core.ReadLinear(Linear, sizeof(uint)));
        EnterUserModeWithPagingOn();

        var fault = Assert.Throws<GuestFault>(() => Core.ReadLinear(Linear, sizeof(uint)));

        Assert.Equal(ErrPresent | ErrUser, fault.ErrorCode);
    }

    [Fact]
    public void A_translation_cached_by_a_read_does_not_let_a_write_to_a_read_only_page_through()
    {
        Setup(user: true, pte: Present | User | Dirty);
        Assert.Equal(0UL, Core.ReadLinear(Linear, sizeof(uint)));

        var fault = Assert.Throws<GuestFault>(() => Core.WriteLinear(Linear, sizeof(uint), Value));

        Assert.Equal(ErrPresent | ErrWrite | ErrUser, fault.ErrorCode);
    }

    [Fact]
    public void A_translation_cached_by_a_read_still_refuses_a_fetch_from_an_xd_page()
    {
        Setup(user: false, pte: AllRights | NoExecute, nxe: true);
        Assert.Equal(0UL, Core.ReadLinear(Linear, sizeof(uint)));
        Core.Rip = Linear;

        var fault = Assert.Throws<GuestFault>(() => Core.Step());

        Assert.Equal(ErrPresent | ErrFetch, fault.ErrorCode);
    }

    [Fact]
    public void A_cached_clean_page_gets_its_dirty_bit_on_the_first_user_write()
    {
        Setup(user: true, pte: AllRights);
        Assert.Equal(0UL, Core.ReadLinear(Linear, sizeof(uint)));
        Assert.Equal(0UL, PteValue() & Dirty);

        Core.WriteLinear(Linear, sizeof(uint), Value);

        Assert.Equal(Dirty, PteValue() & Dirty);
    }

    [Fact]
    public void A_two_mib_page_combines_rights_of_its_pde_with_the_upper_levels()
    {
        Setup(user: true, pte: AllRights);
        const ulong largeLinear = 0x60_0000;
        const ulong largePhysical = 0x40_0000;
        _vm.Memory.Write(Directory + (((largeLinear >> 21) & 0x1FF) * 8), largePhysical | Present | Writable | Large);

        var fault = Assert.Throws<GuestFault>(() => Core.ReadLinear(largeLinear, sizeof(uint)));

        Assert.Equal(ErrPresent | ErrUser, fault.ErrorCode);
    }

    [Fact]
    public void Reserved_bits_of_a_two_mib_pde_fault()
    {
        Setup(user: false, pte: AllRights);
        const ulong largeLinear = 0x60_0000;
        const ulong largePhysical = 0x40_0000;
        const ulong bit13 = 1UL << 13;
        _vm.Memory.Write(Directory + (((largeLinear >> 21) & 0x1FF) * 8), largePhysical | AllRights | Large | bit13);

        var fault = Assert.Throws<GuestFault>(() => Core.ReadLinear(largeLinear, sizeof(uint)));

        Assert.Equal(ErrPresent | ErrReserved, fault.ErrorCode);
    }

    [Fact]
    public void Thirty_two_bit_paging_checks_user_and_supervisor_and_reports_no_fetch_bit()
    {
        Core.SetFlatMode(32);
        const ulong directory32 = 0x20_0000;
        const ulong table32 = 0x20_1000;
        _vm.Memory.Write(directory32 + ((Linear >> 22) * 4), (uint)(table32 | AllRights));
        _vm.Memory.Write(table32 + (((Linear >> 12) & 0x3FF) * 4), (uint)(Physical | Present | Writable));
        WriteGdt();
        Core.LoadSegment(X86Core.CS, UserCode32);
        Core.LoadSegment(X86Core.SS, UserData);
        Core.Cr3 = directory32;
        Core.Cr0 |= X86Core.Cr0PG;
        Core.FlushTlb();

        var read = Assert.Throws<GuestFault>(() => Core.ReadLinear(Linear, sizeof(uint)));

        Assert.Equal(ErrPresent | ErrUser, read.ErrorCode);
    }

    public void Dispose() => _vm.Dispose();

    /// <summary>
    /// 64-bit mode with 4-level paging mapping <see cref="Linear"/> to <see cref="Physical"/>: the PTE gets
    /// <paramref name="pte"/>, the upper levels all rights unless given; at CPL 3 when <paramref name="user"/>.
    /// </summary>
    private void Setup(bool user, ulong pte, ulong pml4 = AllRights, ulong pdpt = AllRights, ulong directory = AllRights, bool writeProtect = false, bool nxe = false)
    {
        Core.SetFlatMode(64);
        WriteGdt();
        if (user)
        {
            Core.LoadSegment(X86Core.CS, UserCode);
            Core.LoadSegment(X86Core.SS, UserData);
        }

        _vm.Memory.Write(Pml4, Pdpt | pml4);
        _vm.Memory.Write(Pdpt, Directory | pdpt);
        _vm.Memory.Write(Directory + (((Linear >> 21) & 0x1FF) * 8), Table | directory);
        _vm.Memory.Write(Table + (((Linear >> 12) & 0x1FF) * 8), pte == 0 ? 0 : Physical | pte);
        Core.Cr3 = Pml4;
        Core.Cr0 |= X86Core.Cr0PG | (writeProtect ? X86Core.Cr0WP : 0);
        Core.Efer |= nxe ? X86Core.EferNXE : 0;
        Core.FlushTlb();
    }

    private void WriteGdt()
    {
        _vm.Memory.Write(GdtAddress + KernelCode, KernelCodeDescriptor);
        _vm.Memory.Write(GdtAddress + UserData - 3, UserDataDescriptor);
        _vm.Memory.Write(GdtAddress + UserCode - 3, UserCodeDescriptor);
        _vm.Memory.Write(GdtAddress + UserCode32 - 3, UserCode32Descriptor);
        Core.GdtBase = GdtAddress;
        Core.GdtLimit = 0x3F;
    }

    /// <summary>Drops to CPL 3 while paging stays on (the GDT is reached through the identity map of physical 0-2 MiB).</summary>
    private void EnterUserModeWithPagingOn()
    {
        _vm.Memory.Write(Directory, 0UL | Present | Writable | Large);
        Core.LoadSegment(X86Core.CS, UserCode);
        Core.LoadSegment(X86Core.SS, UserData);
    }

    private ulong PteValue() => _vm.Memory.Read<ulong>(Table + (((Linear >> 12) & 0x1FF) * 8));
}
