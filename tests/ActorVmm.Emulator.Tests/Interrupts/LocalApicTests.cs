using ActorVmm.Emulator.Apic;
using ActorVmm.Machine.Interrupts;
using static ActorVmm.Machine.Interrupts.LocalApicRegisters;

namespace ActorVmm.Emulator.Tests.Interrupts;

public sealed class LocalApicTests
{
    private const int BootVcpu = 0;
    private const int SecondVcpu = 1;
    private const byte LowVector = 0x31;
    private const byte MidVector = 0x51;
    private const byte HighVector = 0x71;
    private const byte IllegalVector = 0x0F;

    private static LocalApic Enabled(int id = BootVcpu)
    {
        var apic = new LocalApic(id);
        apic.WriteRegister(SpuriousVector, SoftwareEnable | SpuriousVectorReset);
        return apic;
    }

    private static uint WordOf(int bank, byte vector) => (uint)(bank + ((vector / 32) * Stride));

    private static uint BitOf(byte vector) => 1u << (vector % 32);

    [Fact]
    public void After_reset_the_id_version_and_spurious_registers_read_as_kvm_sets_them()
    {
        var apic = new LocalApic(SecondVcpu);

        Assert.Equal((uint)SecondVcpu << IdShift, apic.ReadRegister(LocalApicRegisters.Id));
        Assert.Equal(VersionValue, apic.ReadRegister(LocalApicRegisters.Version));
        Assert.Equal(SpuriousVectorReset, apic.ReadRegister(SpuriousVector));
        Assert.Equal(DestinationFormatReset, apic.ReadRegister(DestinationFormat));
        Assert.False(apic.IsSoftwareEnabled);
    }

    [Fact]
    public void Lint0_is_unmasked_extint_on_the_boot_vcpu_only_and_lint1_is_masked_nmi()
    {
        var boot = new LocalApic(BootVcpu);
        var second = new LocalApic(SecondVcpu);

        Assert.Equal(DeliveryModeExtInt, boot.ReadRegister(LvtLint0));
        Assert.True(boot.AcceptsExtInt);
        Assert.Equal(DeliveryModeExtInt | LvtMasked, second.ReadRegister(LvtLint0));
        Assert.False(second.AcceptsExtInt);
        Assert.Equal(DeliveryModeNmi | LvtMasked, boot.ReadRegister(LvtLint1));
        Assert.Equal(LvtMasked, boot.ReadRegister(LvtTimer));
    }

    [Fact]
    public void A_fixed_interrupt_to_a_software_disabled_apic_is_dropped_and_counted()
    {
        var apic = new LocalApic(BootVcpu);

        Assert.False(apic.AcceptFixed(MidVector));

        Assert.Equal(1, apic.DroppedInterrupts);
        Assert.False(apic.HasRequests);
        Assert.False(apic.TryAcknowledge(out _));
    }

    [Fact]
    public void A_fixed_interrupt_with_a_reserved_vector_is_dropped()
    {
        var apic = Enabled();

        Assert.False(apic.AcceptFixed(IllegalVector));

        Assert.Equal(1, apic.DroppedInterrupts);
        Assert.Equal(0u, apic.ReadRegister((int)WordOf(InterruptRequest, IllegalVector)));
    }

    [Fact]
    public void Acknowledge_moves_the_vector_from_irr_to_isr_and_eoi_retires_it()
    {
        var apic = Enabled();
        Assert.True(apic.AcceptFixed(MidVector));
        Assert.Equal(BitOf(MidVector), apic.ReadRegister((int)WordOf(InterruptRequest, MidVector)));

        Assert.True(apic.TryAcknowledge(out byte vector));

        Assert.Equal(MidVector, vector);
        Assert.Equal(0u, apic.ReadRegister((int)WordOf(InterruptRequest, MidVector)));
        Assert.Equal(BitOf(MidVector), apic.ReadRegister((int)WordOf(InService, MidVector)));
        Assert.Equal(MidVector & PriorityClassMask, apic.ReadRegister(ProcessorPriority));

        apic.WriteRegister(EndOfInterrupt, 0);

        Assert.Equal(0u, apic.ReadRegister((int)WordOf(InService, MidVector)));
        Assert.Equal(0u, apic.ReadRegister(ProcessorPriority));
    }

    [Fact]
    public void The_highest_requested_vector_is_taken_first()
    {
        var apic = Enabled();
        apic.AcceptFixed(LowVector);
        apic.AcceptFixed(HighVector);
        apic.AcceptFixed(MidVector);

        Assert.True(apic.TryAcknowledge(out byte first));

        Assert.Equal(HighVector, first);
    }

    [Fact]
    public void An_in_service_vector_blocks_requests_of_its_class_and_below_until_eoi()
    {
        var apic = Enabled();
        apic.AcceptFixed(MidVector);
        Assert.True(apic.TryAcknowledge(out _));
        apic.AcceptFixed(LowVector);
        apic.AcceptFixed(MidVector);

        Assert.False(apic.TryAcknowledge(out _));

        apic.AcceptFixed(HighVector);
        Assert.True(apic.TryAcknowledge(out byte nested));
        Assert.Equal(HighVector, nested);
        apic.WriteRegister(EndOfInterrupt, 0);
        apic.WriteRegister(EndOfInterrupt, 0);
        Assert.True(apic.TryAcknowledge(out byte next));
        Assert.Equal(MidVector, next);
    }

    [Fact]
    public void Task_priority_holds_back_vectors_of_its_class_and_below()
    {
        var apic = Enabled();
        apic.WriteRegister(TaskPriority, MidVector & PriorityClassMask);
        apic.AcceptFixed(MidVector);

        Assert.False(apic.TryAcknowledge(out _));
        Assert.Equal(MidVector & PriorityClassMask, apic.ReadRegister(ProcessorPriority));

        apic.WriteRegister(TaskPriority, 0);
        Assert.True(apic.TryAcknowledge(out byte vector));
        Assert.Equal(MidVector, vector);
    }

    [Fact]
    public void Software_disabling_masks_every_lvt_entry_and_keeps_new_entries_masked()
    {
        var apic = Enabled();
        Assert.True(apic.AcceptsExtInt);

        apic.WriteRegister(SpuriousVector, SpuriousVectorReset);

        Assert.False(apic.AcceptsExtInt);
        apic.WriteRegister(LvtLint0, DeliveryModeExtInt);
        Assert.Equal(DeliveryModeExtInt | LvtMasked, apic.ReadRegister(LvtLint0));
    }

    [Fact]
    public void Mmio_reads_return_the_bytes_of_the_register_in_each_slot_and_zero_past_its_first_four()
    {
        var apic = new LocalApic(SecondVcpu);
        uint id = (uint)SecondVcpu << IdShift;

        Assert.Equal(id, apic.Read(LocalApicRegisters.Id, sizeof(uint)));
        Assert.Equal((ulong)(id >> 24), apic.Read(LocalApicRegisters.Id + 3, 1));
        Assert.Equal(id, apic.Read(LocalApicRegisters.Id, sizeof(ulong)));
        Assert.Equal(0UL, apic.Read(LocalApicRegisters.Id + sizeof(uint), sizeof(uint)));
    }

    [Fact]
    public void Mmio_writes_that_are_not_aligned_32_bit_writes_are_ignored()
    {
        var apic = Enabled();

        apic.Write(TaskPriority + 1, sizeof(uint), HighVector);
        apic.Write(TaskPriority, sizeof(ushort), HighVector);
        Assert.Equal(0u, apic.ReadRegister(TaskPriority));

        apic.Write(TaskPriority, sizeof(uint), HighVector);
        Assert.Equal((uint)HighVector, apic.ReadRegister(TaskPriority));
    }

    [Theory]
    [InlineData(0x01u << IdShift, 0x03, true)]
    [InlineData(0x04u << IdShift, 0x03, false)]
    public void Flat_logical_destinations_match_on_any_common_bit(uint logicalDestination, byte destination, bool matches)
    {
        var apic = Enabled();
        apic.WriteRegister(LogicalDestination, logicalDestination);

        Assert.Equal(matches, apic.MatchesLogical(destination));
    }

    [Theory]
    [InlineData(0x21u << IdShift, 0x23, true)]
    [InlineData(0x21u << IdShift, 0x13, false)]
    public void Cluster_logical_destinations_match_the_cluster_and_a_member_bit(uint logicalDestination, byte destination, bool matches)
    {
        var apic = Enabled();
        apic.WriteRegister(DestinationFormat, 0);
        apic.WriteRegister(LogicalDestination, logicalDestination);

        Assert.Equal(matches, apic.MatchesLogical(destination));
    }
}
