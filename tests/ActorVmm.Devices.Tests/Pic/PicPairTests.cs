using ActorVmm.Devices.Pic;

namespace ActorVmm.Devices.Tests.Pic;

public sealed class PicPairTests
{
    // Linux arch/x86/kernel/i8259.c init_8259A(): ICW1 0x11, vectors 0x30/0x38, cascade on IR2, ICW4 8086 mode.
    private const byte Icw1EdgeCascadeIcw4 = 0x11;
    private const byte MasterVectorBase = 0x30;
    private const byte SlaveVectorBase = 0x38;
    private const byte MasterIcw3SlaveOnIr2 = 1 << PicPair.CascadeInput;
    private const byte SlaveIcw3CascadeId = PicPair.CascadeInput;
    private const byte Icw4Mode8086 = 0x01;
    private const byte Icw4Mode8086AutoEoi = Icw4Mode8086 | Pic8259Chip.Icw4AutoEoiBit;
    private const byte AllMasked = 0xFF;
    private const byte AllUnmasked = 0x00;

    private const byte Ocw2NonSpecificEoi = 0x20;
    private const byte Ocw2SpecificEoiBase = 0x60;
    private const byte Ocw2RotateNonSpecificEoi = 0xA0;
    private const byte Ocw2SetPriorityBase = 0xC0;
    private const byte Ocw3ReadIrr = 0x0A;
    private const byte Ocw3ReadIsr = 0x0B;
    private const byte Ocw3Poll = 0x0C;
    private const byte Ocw3SetSpecialMask = 0x68;

    private const int Timer = 0;
    private const int Keyboard = 1;
    private const int Com2 = 3;
    private const int Com1 = 4;
    private const int Rtc = 8;
    private const int SlaveLevelIrq = 10;
    private const int Mouse = 12;

    private static PicPair LinuxInitialised(byte icw4 = Icw4Mode8086)
    {
        var pic = new PicPair();
        pic.Write(PicBlock.Master, Pic8259Chip.DataOffset, AllMasked);
        pic.Write(PicBlock.Slave, Pic8259Chip.DataOffset, AllMasked);
        pic.Write(PicBlock.Master, Pic8259Chip.CommandOffset, Icw1EdgeCascadeIcw4);
        pic.Write(PicBlock.Master, Pic8259Chip.DataOffset, MasterVectorBase);
        pic.Write(PicBlock.Master, Pic8259Chip.DataOffset, MasterIcw3SlaveOnIr2);
        pic.Write(PicBlock.Master, Pic8259Chip.DataOffset, icw4);
        pic.Write(PicBlock.Slave, Pic8259Chip.CommandOffset, Icw1EdgeCascadeIcw4);
        pic.Write(PicBlock.Slave, Pic8259Chip.DataOffset, SlaveVectorBase);
        pic.Write(PicBlock.Slave, Pic8259Chip.DataOffset, SlaveIcw3CascadeId);
        pic.Write(PicBlock.Slave, Pic8259Chip.DataOffset, icw4);
        pic.Write(PicBlock.Master, Pic8259Chip.DataOffset, AllUnmasked);
        pic.Write(PicBlock.Slave, Pic8259Chip.DataOffset, AllUnmasked);
        return pic;
    }

    private static void Edge(PicPair pic, int irq)
    {
        pic.SetIrq(irq, asserted: true);
        pic.SetIrq(irq, asserted: false);
    }

    private static byte Bit(int input) => (byte)(1 << (input % Pic8259Chip.Inputs));

    [Fact]
    public void Linux_init_sequence_programs_vector_bases_and_leaves_init_mode()
    {
        var pic = LinuxInitialised();

        Assert.Equal(MasterVectorBase, pic.Master.VectorBase);
        Assert.Equal(SlaveVectorBase, pic.Slave.VectorBase);
        Assert.False(pic.Master.Initializing);
        Assert.False(pic.Slave.Initializing);
        Assert.False(pic.Master.AutoEoi);
        Assert.False(pic.Intr);
    }

    [Fact]
    public void Linux_probe_reads_back_the_mask_it_wrote()
    {
        var pic = LinuxInitialised();
        const byte probeMask = 0xFB;

        pic.Write(PicBlock.Master, Pic8259Chip.DataOffset, probeMask);

        Assert.Equal(probeMask, pic.Read(PicBlock.Master, Pic8259Chip.DataOffset));
    }

    [Fact]
    public void Edge_irq_is_delivered_with_its_vector_and_marked_in_service_until_EOI()
    {
        var pic = LinuxInitialised();

        Edge(pic, Timer);
        Assert.True(pic.Intr);
        Assert.Equal(MasterVectorBase + Timer, pic.Acknowledge());
        Assert.Equal(Bit(Timer), pic.Master.Isr);
        Assert.Equal(0, pic.Master.Irr);
        Assert.False(pic.Intr);

        pic.Write(PicBlock.Master, Pic8259Chip.CommandOffset, Ocw2NonSpecificEoi);
        Assert.Equal(0, pic.Master.Isr);
    }

    [Fact]
    public void Lower_numbered_irq_has_priority_and_preempts_a_lower_priority_in_service()
    {
        var pic = LinuxInitialised();
        Edge(pic, Com2);
        Edge(pic, Keyboard);

        Assert.Equal(MasterVectorBase + Keyboard, pic.Acknowledge());
        Assert.False(pic.Intr); // COM2 waits behind the keyboard in service

        Edge(pic, Timer);
        Assert.True(pic.Intr);  // the timer beats the in-service keyboard
        Assert.Equal(MasterVectorBase + Timer, pic.Acknowledge());

        pic.Write(PicBlock.Master, Pic8259Chip.CommandOffset, Ocw2NonSpecificEoi); // ends the timer
        Assert.False(pic.Intr);
        pic.Write(PicBlock.Master, Pic8259Chip.CommandOffset, Ocw2NonSpecificEoi); // ends the keyboard
        Assert.Equal(MasterVectorBase + Com2, pic.Acknowledge());
    }

    [Fact]
    public void Specific_EOI_clears_only_the_named_level_as_Linux_mask_and_ack_does()
    {
        var pic = LinuxInitialised();
        Edge(pic, Com1);
        pic.Acknowledge();
        Edge(pic, Keyboard);
        pic.Acknowledge();

        pic.Write(PicBlock.Master, Pic8259Chip.CommandOffset, (byte)(Ocw2SpecificEoiBase + Com1));

        Assert.Equal(Bit(Keyboard), pic.Master.Isr);
    }

    [Fact]
    public void Auto_EOI_mode_never_sets_ISR()
    {
        var pic = LinuxInitialised(Icw4Mode8086AutoEoi);
        Edge(pic, Keyboard);

        Assert.Equal(MasterVectorBase + Keyboard, pic.Acknowledge());
        Assert.Equal(0, pic.Master.Isr);
    }

    [Fact]
    public void Slave_irq_is_delivered_through_the_cascade_with_the_slave_vector()
    {
        var pic = LinuxInitialised();
        Edge(pic, Mouse);

        Assert.True(pic.Intr);
        Assert.Equal(SlaveVectorBase + (Mouse - Pic8259Chip.Inputs), pic.Acknowledge());
        Assert.Equal(Bit(PicPair.CascadeInput), pic.Master.Isr);
        Assert.Equal(Bit(Mouse), pic.Slave.Isr);

        pic.Write(PicBlock.Slave, Pic8259Chip.CommandOffset, Ocw2NonSpecificEoi);
        pic.Write(PicBlock.Master, Pic8259Chip.CommandOffset, Ocw2NonSpecificEoi);
        Assert.Equal(0, pic.Master.Isr);
        Assert.Equal(0, pic.Slave.Isr);
    }

    [Fact]
    public void Level_triggered_irq_requests_again_after_EOI_while_the_line_stays_high()
    {
        var pic = LinuxInitialised();
        pic.Write(PicBlock.Elcr, PicPair.ElcrSlaveOffset, Bit(SlaveLevelIrq));
        pic.SetIrq(SlaveLevelIrq, asserted: true);

        pic.Acknowledge();
        pic.Write(PicBlock.Slave, Pic8259Chip.CommandOffset, Ocw2NonSpecificEoi);
        pic.Write(PicBlock.Master, Pic8259Chip.CommandOffset, Ocw2NonSpecificEoi);

        Assert.True(pic.Intr);
        Assert.Equal(SlaveVectorBase + (SlaveLevelIrq - Pic8259Chip.Inputs), pic.Acknowledge());

        pic.SetIrq(SlaveLevelIrq, asserted: false);
        Assert.Equal(0, pic.Slave.Irr & Bit(SlaveLevelIrq));
    }

    [Fact]
    public void Edge_triggered_irq_held_high_requests_once_until_it_rises_again()
    {
        var pic = LinuxInitialised();
        pic.SetIrq(Com1, asserted: true);
        pic.Acknowledge();
        pic.Write(PicBlock.Master, Pic8259Chip.CommandOffset, Ocw2NonSpecificEoi);

        Assert.False(pic.Intr);

        pic.SetIrq(Com1, asserted: false);
        pic.SetIrq(Com1, asserted: true);
        Assert.True(pic.Intr);
    }

    [Fact]
    public void ELCR_cannot_make_timer_keyboard_cascade_or_rtc_level_triggered()
    {
        var pic = new PicPair();

        pic.Write(PicBlock.Elcr, PicPair.ElcrMasterOffset, AllMasked);
        pic.Write(PicBlock.Elcr, PicPair.ElcrSlaveOffset, AllMasked);

        Assert.Equal(PicPair.ElcrMasterWritableMask, pic.Read(PicBlock.Elcr, PicPair.ElcrMasterOffset));
        Assert.Equal(PicPair.ElcrSlaveWritableMask, pic.Read(PicBlock.Elcr, PicPair.ElcrSlaveOffset));
        Assert.Equal(0, pic.Slave.Elcr & Bit(Rtc));
    }

    [Fact]
    public void INTA_with_nothing_pending_returns_the_spurious_IRQ7_vector_without_setting_ISR()
    {
        var pic = LinuxInitialised();

        Assert.Equal(MasterVectorBase + Pic8259Chip.SpuriousInput, pic.Acknowledge());
        Assert.Equal(0, pic.Master.Isr);
    }

    [Fact]
    public void Slave_request_withdrawn_before_INTA_gives_the_spurious_IRQ15_vector()
    {
        var pic = LinuxInitialised();
        pic.Write(PicBlock.Elcr, PicPair.ElcrSlaveOffset, Bit(SlaveLevelIrq));
        pic.SetIrq(SlaveLevelIrq, asserted: true);   // master IR2 latches the slave's rising output
        pic.SetIrq(SlaveLevelIrq, asserted: false);  // the level request goes away before INTA

        Assert.Equal(SlaveVectorBase + Pic8259Chip.SpuriousInput, pic.Acknowledge());
        Assert.Equal(0, pic.Slave.Isr);
        Assert.Equal(Bit(PicPair.CascadeInput), pic.Master.Isr);
    }

    [Fact]
    public void OCW3_selects_IRR_or_ISR_for_command_port_reads()
    {
        var pic = LinuxInitialised();
        Edge(pic, Keyboard);
        pic.Acknowledge();
        Edge(pic, Com1);

        pic.Write(PicBlock.Master, Pic8259Chip.CommandOffset, Ocw3ReadIsr);
        Assert.Equal(Bit(Keyboard), pic.Read(PicBlock.Master, Pic8259Chip.CommandOffset));
        pic.Write(PicBlock.Master, Pic8259Chip.CommandOffset, Ocw3ReadIrr);
        Assert.Equal(Bit(Com1), pic.Read(PicBlock.Master, Pic8259Chip.CommandOffset));
    }

    [Fact]
    public void Poll_command_read_acknowledges_and_reports_the_level_with_bit_7()
    {
        var pic = LinuxInitialised();
        Edge(pic, Com1);

        pic.Write(PicBlock.Master, Pic8259Chip.CommandOffset, Ocw3Poll);

        Assert.Equal(Pic8259Chip.PollInterruptBit | Com1, pic.Read(PicBlock.Master, Pic8259Chip.CommandOffset));
        Assert.Equal(Bit(Com1), pic.Master.Isr);
        pic.Write(PicBlock.Master, Pic8259Chip.CommandOffset, Ocw3Poll);
        Assert.Equal(0, pic.Read(PicBlock.Master, Pic8259Chip.CommandOffset));
    }

    [Fact]
    public void Rotate_on_EOI_makes_the_serviced_irq_lowest_priority()
    {
        var pic = LinuxInitialised();
        Edge(pic, Timer);
        pic.Acknowledge();
        pic.Write(PicBlock.Master, Pic8259Chip.CommandOffset, Ocw2RotateNonSpecificEoi);

        Edge(pic, Timer);
        Edge(pic, Keyboard);

        Assert.Equal(MasterVectorBase + Keyboard, pic.Acknowledge());
    }

    [Fact]
    public void Set_priority_command_makes_the_next_level_highest()
    {
        var pic = LinuxInitialised();
        pic.Write(PicBlock.Master, Pic8259Chip.CommandOffset, Ocw2SetPriorityBase + Com2); // IRQ3 lowest → IRQ4 highest

        Edge(pic, Timer);
        Edge(pic, Com1);

        Assert.Equal(MasterVectorBase + Com1, pic.Acknowledge());
    }

    [Fact]
    public void Masked_irq_stays_in_IRR_and_is_delivered_when_unmasked()
    {
        var pic = LinuxInitialised();
        pic.Write(PicBlock.Master, Pic8259Chip.DataOffset, Bit(Keyboard));
        Edge(pic, Keyboard);

        Assert.False(pic.Intr);
        Assert.Equal(Bit(Keyboard), pic.Master.Irr);

        pic.Write(PicBlock.Master, Pic8259Chip.DataOffset, AllUnmasked);
        Assert.Equal(MasterVectorBase + Keyboard, pic.Acknowledge());
    }

    [Fact]
    public void Special_mask_mode_lets_lower_priorities_through_a_masked_in_service_level()
    {
        var pic = LinuxInitialised();
        Edge(pic, Keyboard);
        pic.Acknowledge();
        Edge(pic, Com1);
        Assert.False(pic.Intr);

        pic.Write(PicBlock.Master, Pic8259Chip.CommandOffset, Ocw3SetSpecialMask);
        pic.Write(PicBlock.Master, Pic8259Chip.DataOffset, Bit(Keyboard));

        Assert.True(pic.Intr);
        Assert.Equal(MasterVectorBase + Com1, pic.Acknowledge());
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(PicPair.CascadeInput)]
    [InlineData(PicPair.IrqCount)]
    public void Out_of_range_or_cascade_irq_numbers_are_refused_without_changing_state(int irq)
    {
        var pic = LinuxInitialised();

        Assert.False(pic.SetIrq(irq, asserted: true));
        Assert.False(pic.Intr);
        Assert.Equal(0, pic.Master.Irr);
    }
}
