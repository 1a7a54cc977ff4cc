using ActorVmm.Emulator.Cpu;
using ActorVmm.Machine.Vcpu;

namespace ActorVmm.Emulator.Tests;

/// <summary>Page walks of the three paging modes, driven directly on a core (page tables written from the host).</summary>
public sealed class PagingTests : IDisposable
{
    private const ulong Memory = 16 * 1024 * 1024;
    private const ulong TableBase = 0x10_0000;
    private const ulong Pdpt = TableBase;
    private const ulong Directory = TableBase + 0x1000;
    private const ulong Table = TableBase + 0x2000;
    private const ulong Pml4 = TableBase + 0x3000;
    private const ulong Present = 0x1;
    private const ulong Writable = 0x2;
    private const ulong Accessed = 0x20;
    private const ulong Dirty = 0x40;
    private const ulong Large = 0x80;
    private const ulong Linear = 0x40_5123;
    private const ulong Physical = 0x7000;
    private const ulong OtherPhysical = 0x9000;
    private const ulong PageOffsetMask = 0xFFF;
    private const ulong Value = 0x1122_3344_5566_7788;
    private const uint Value32 = 0x5566_7788;
    private const uint Inverted32 = ~Value32;
    private const uint NotPresentWrite = 0x2;
    private const uint ProtectionWrite = 0x3;
    private const ulong LargePage4M = 0x40_0000;
    private const ulong LargePhysical4M = 0x80_0000;

    private readonly EmulatorVm _vm = new(new VmSpec("paging", Memory));

    private X86Core Core => _vm.Core(0);

    [Fact]
    public void Two_level_32_bit_paging_translates_through_pde_and_pte_and_sets_accessed_and_dirty()
    {
        Map32(Linear, Physical, Writable);
        _vm.Memory.Write(Physical + (Linear & PageOffsetMask), Value);

        Assert.Equal(Value32, Core.ReadLinear(Linear, sizeof(uint)));
        Core.WriteLinear(Linear, sizeof(uint), Inverted32);

        Assert.Equal(Inverted32, _vm.Memory.Read<uint>(Physical + (Linear & PageOffsetMask)));
        uint pte = _vm.Memory.Read<uint>(Table + (((Linear >> 12) & 0x3FF) * 4));
        Assert.Equal(Accessed | Dirty, pte & (Accessed | Dirty));
    }

    [Fact]
    public void Pse_large_page_maps_4_mib()
    {
        EnablePaging32(pse: true);
        _vm.Memory.Write(Directory + ((LargePage4M >> 22) * 4), (uint)(LargePhysical4M | Present | Writable | Large));
        _vm.Memory.Write(LargePhysical4M + (Linear & 0x3F_FFFF), Value);

        Assert.Equal(Value, Core.ReadLinear(LargePage4M + (Linear & 0x3F_FFFF), sizeof(ulong)));
    }

    [Fact]
    public void Not_present_page_raises_pf_with_cr2_and_error_code()
    {
        EnablePaging32(pse: false);

        var fault = Assert.Throws<GuestFault>(() => Core.WriteLinear(Linear, sizeof(byte), 0));

        Assert.Equal(ExceptionVector.PF, fault.Vector);
        Assert.Equal(NotPresentWrite, fault.ErrorCode);
        Assert.Equal(Linear, Core.Cr2);
    }

    [Fact]
    public void Read_only_page_faults_on_write_only_when_cr0_wp_is_set()
    {
        Map32(Linear, Physical, 0);
        Core.WriteLinear(Linear, sizeof(byte), 1);

        Core.Cr0 |= X86Core.Cr0WP;
        Core.FlushTlb();
        var fault = Assert.Throws<GuestFault>(() => Core.WriteLinear(Linear, sizeof(byte), 2));

        Assert.Equal(ProtectionWrite, fault.ErrorCode);
        Assert.Equal(1, _vm.Memory.Read<byte>(Physical + (Linear & PageOffsetMask)));
    }

    [Fact]
    public void Tlb_keeps_a_stale_translation_until_flushed()
    {
        Map32(Linear, Physical, Writable);
        _vm.Memory.Write(Physical + (Linear & PageOffsetMask), 1u);
        _vm.Memory.Write(OtherPhysical + (Linear & PageOffsetMask), 2u);
        Assert.Equal(1UL, Core.ReadLinear(Linear, sizeof(uint)));

        _vm.Memory.Write(Table + (((Linear >> 12) & 0x3FF) * 4), (uint)(OtherPhysical | Present | Writable));
        Assert.Equal(1UL, Core.ReadLinear(Linear, sizeof(uint)));
        Core.FlushTlb();

        Assert.Equal(2UL, Core.ReadLinear(Linear, sizeof(uint)));
    }

    [Fact]
    public void Four_level_long_mode_paging_translates_a_4k_page()
    {
        Core.SetFlatMode(64);
        Core.Cr3 = Pml4;
        Core.Cr0 |= X86Core.Cr0PG;
        Core.FlushTlb();
        _vm.Memory.Write(Pml4, Pdpt | Present | Writable);
        _vm.Memory.Write(Pdpt, Directory | Present | Writable);
        _vm.Memory.Write(Directory + (((Linear >> 21) & 0x1FF) * 8), Table | Present | Writable);
        _vm.Memory.Write(Table + (((Linear >> 12) & 0x1FF) * 8), Physical | Present | Writable);
        _vm.Memory.Write(Physical + (Linear & PageOffsetMask), Value);

        Assert.Equal(Value, Core.ReadLinear(Linear, sizeof(ulong)));
    }

    [Fact]
    public void Pae_paging_translates_through_the_pdpt()
    {
        Core.SetFlatMode(32);
        Core.Cr4 |= X86Core.Cr4PAE;
        Core.Cr3 = Pdpt;
        Core.Cr0 |= X86Core.Cr0PG;
        Core.FlushTlb();
        _vm.Memory.Write(Pdpt + (((Linear >> 30) & 3) * 8), Directory | Present);
        _vm.Memory.Write(Directory + (((Linear >> 21) & 0x1FF) * 8), Table | Present | Writable);
        _vm.Memory.Write(Table + (((Linear >> 12) & 0x1FF) * 8), Physical | Present | Writable);
        _vm.Memory.Write(Physical + (Linear & PageOffsetMask), Value);

        Assert.Equal(Value, Core.ReadLinear(Linear, sizeof(ulong)));
    }

    private void EnablePaging32(bool pse)
    {
        Core.SetFlatMode(32);
        Core.Cr3 = Directory;
        if (pse)
        {
            Core.Cr4 |= X86Core.Cr4PSE;
        }

        Core.Cr0 |= X86Core.Cr0PG;
        Core.FlushTlb();
    }

    private void Map32(ulong linear, ulong physical, ulong flags)
    {
        EnablePaging32(pse: false);
        _vm.Memory.Write(Directory + ((linear >> 22) * 4), (uint)(Table | Present | Writable));
        _vm.Memory.Write(Table + (((linear >> 12) & 0x3FF) * 4), (uint)(physical | Present | flags));
    }

    public void Dispose() => _vm.Dispose();
}
