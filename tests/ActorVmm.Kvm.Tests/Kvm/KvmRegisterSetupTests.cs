using ActorVmm.Kvm.Interop;
using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using static ActorVmm.Kvm.KvmRegisterSetup;

namespace ActorVmm.Kvm.Tests.Kvm;

public sealed unsafe class KvmRegisterSetupTests : IDisposable
{
    private const ulong RamSize = 0x100000;
    private const int SecondVcpu = 1;
    private const ulong LongModeEntryPoint = 0x10_0000;
    private const ulong LongModeStack = 0x8_0000;
    private const ulong BootParams = 0x7000;
    private const ulong TwoMiB = 2UL << 20;
    private const ulong PageSize2MiBBit = 0x80;

    private readonly FakeKvmKernel _kernel = new();
    private readonly GuestMemory _memory = GuestMemory.Create(RamSize);
    private readonly TrapDispatcher _dispatcher = new(new TrapTable());

    public void Dispose() => _memory.Dispose();

    [Fact]
    public void Real_mode_flat_binary_entry_sets_segments_ip_sp_and_flags_as_kvmtool()
    {
        using var core = new KvmVcpuCore(0, _kernel, _memory, _dispatcher, null, hasIrqchip: false);
        var entry = RealModeEntry.FlatBinary;

        core.SetEntryState(entry);

        var s = _kernel.Sregs;
        Assert.Equal(entry.CodeSegment, s.cs.selector);
        Assert.Equal((ulong)entry.CodeSegment << 4, s.cs.@base);
        Assert.All([s.ds, s.es, s.fs, s.gs, s.ss], seg =>
        {
            Assert.Equal(entry.DataSegment, seg.selector);
            Assert.Equal((ulong)entry.DataSegment << 4, seg.@base);
            Assert.Equal(RealModeSegmentLimit, seg.limit);
        });
        Assert.Equal(0UL, s.cr0 & Cr0ProtectionEnable);
        Assert.Equal(entry.InstructionPointer, _kernel.Regs.rip);
        Assert.Equal(entry.StackPointer, _kernel.Regs.rsp);
        Assert.Equal(RflagsReserved, _kernel.Regs.rflags);
        Assert.Equal(FpuControlWordDefault, _kernel.Fpu!.Value.fcw);
    }

    [Fact]
    public void Long_mode_entry_enables_paging_and_identity_maps_with_2MiB_pages()
    {
        using var core = new KvmVcpuCore(0, _kernel, _memory, _dispatcher, null, hasIrqchip: false);

        core.SetEntryState(new LongModeEntry(LongModeEntryPoint, LongModeStack, BootParams));

        var s = _kernel.Sregs;
        Assert.Equal(Cr0ProtectionEnable | Cr0Paging, s.cr0 & (Cr0ProtectionEnable | Cr0Paging));
        Assert.Equal(Cr4PhysicalAddressExtension, s.cr4 & Cr4PhysicalAddressExtension);
        Assert.Equal(EferLongModeEnable | EferLongModeActive, s.efer);
        Assert.Equal(LongModeEntry.Pml4Address, s.cr3);
        Assert.Equal(1, s.cs.l);
        Assert.Equal(LongModeEntry.CodeSelector, s.cs.selector);
        Assert.Equal(LongModeEntry.GdtAddress, s.gdt.@base);
        Assert.Equal(LongModeEntryPoint, _kernel.Regs.rip);
        Assert.Equal(BootParams, _kernel.Regs.rsi);

        ulong pml4e = _memory.Read<ulong>(LongModeEntry.Pml4Address);
        ulong pdpte = _memory.Read<ulong>(LongModeEntry.PdptAddress);
        ulong thirdPde = _memory.Read<ulong>(LongModeEntry.PdAddress + (2 * sizeof(ulong)));
        Assert.Equal(LongModeEntry.PdptAddress, pml4e & ~0xFFFUL);
        Assert.Equal(LongModeEntry.PdAddress, pdpte & ~0xFFFUL);
        Assert.Equal(2 * TwoMiB, thirdPde & ~0xFFFUL);
        Assert.Equal(PageSize2MiBBit, thirdPde & PageSize2MiBBit);
        int codeIndex = LongModeEntry.CodeSelector / sizeof(ulong);
        Assert.Equal(LongModeEntry.GdtEntries[codeIndex], _memory.Read<ulong>(LongModeEntry.GdtAddress + (ulong)LongModeEntry.CodeSelector));
        Assert.Contains(_kernel.Msrs, m => m.index == MsrIa32MiscEnable && m.data == MiscEnableFastString);
    }

    [Fact]
    public void Long_mode_entry_without_ram_for_its_tables_is_a_clear_error()
    {
        using var tiny = GuestMemory.Create([new RamSlot(0, 0x10_0000, 0x1000, 0)]);
        using var core = new KvmVcpuCore(0, _kernel, tiny, _dispatcher, null, hasIrqchip: false);

        var ex = Assert.Throws<InvalidOperationException>(() => core.SetEntryState(new LongModeEntry(LongModeEntryPoint, LongModeStack)));
        Assert.Contains("page tables", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void In_kernel_irqchip_routes_LINT0_to_ExtINT_and_LINT1_to_NMI()
    {
        using var core = new KvmVcpuCore(0, _kernel, _memory, _dispatcher, null, hasIrqchip: true);

        var lapic = _kernel.Lapic;
        var regs = new ReadOnlySpan<byte>(lapic.regs, KvmConstants.KVM_APIC_REG_SIZE);
        Assert.Equal(ApicDeliveryModeExtInt, BitConverter.ToUInt32(regs[ApicLvtLint0Offset..]) & ApicDeliveryModeMask);
        Assert.Equal(ApicDeliveryModeNmi, BitConverter.ToUInt32(regs[ApicLvtLint1Offset..]) & ApicDeliveryModeMask);
    }
}
