namespace ActorVmm.Devices.Pic;

/// <summary>Which register block of the PIC pair a port belongs to.</summary>
public enum PicBlock
{
    /// <summary>Master 8259 (0x20–0x21): IRQ 0–7.</summary>
    Master = 0,

    /// <summary>Slave 8259 (0xA0–0xA1): IRQ 8–15, cascaded on the master's IR2.</summary>
    Slave = 1,

    /// <summary>PIIX edge/level control registers (0x4D0 master, 0x4D1 slave).</summary>
    Elcr = 2,
}

/// <summary>
/// The PC's cascaded 8259A pair plus the chipset's ELCR, as a pure state machine (no lock, no
/// events): the slave's INT output drives the master's IR2, INTA picks the vector across both
/// chips with the hardware's spurious-IRQ behaviour. <see cref="PicDevice"/> adds the lock.
/// </summary>
public sealed class PicPair
{
    /// <summary>The master input the slave is wired to.</summary>
    public const int CascadeInput = 2;

    /// <summary>IRQ lines the pair serves (0–15).</summary>
    public const int IrqCount = 16;

    /// <summary>ELCR offset of the master's register (port 0x4D0).</summary>
    public const int ElcrMasterOffset = 0;

    /// <summary>ELCR offset of the slave's register (port 0x4D1).</summary>
    public const int ElcrSlaveOffset = 1;

    /// <summary>Master ELCR writable bits: IRQ 0, 1 and 2 are always edge-triggered on the PIIX.</summary>
    public const byte ElcrMasterWritableMask = 0b1111_1000;

    /// <summary>Slave ELCR writable bits: IRQ 8 (RTC) and IRQ 13 (FPU) are always edge-triggered.</summary>
    public const byte ElcrSlaveWritableMask = 0b1101_1110;

    /// <summary>Creates a pair in its power-on state.</summary>
    public PicPair()
    {
        Master = new Pic8259Chip(isMaster: true);
        Slave = new Pic8259Chip(isMaster: false);
    }

    /// <summary>The master chip (IRQ 0–7).</summary>
    public Pic8259Chip Master { get; }

    /// <summary>The slave chip (IRQ 8–15).</summary>
    public Pic8259Chip Slave { get; }

    /// <summary>The INTR output to the CPU: the master has a deliverable request.</summary>
    public bool Intr => Master.PendingInput() >= 0;

    /// <summary>The pair's state as an immutable record (<see cref="PicState"/>).</summary>
    public PicState CaptureState() => new(Master.CaptureState(), Slave.CaptureState());

    /// <summary>Takes over <paramref name="state"/>, ELCR included.</summary>
    /// <exception cref="DeviceStateException"><paramref name="state"/> is not a state the pair can hold; nothing is changed.</exception>
    public void LoadState(PicState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        state.Validate();
        Master.LoadState(state.Master);
        Slave.LoadState(state.Slave);
    }

    /// <summary>Power-on reset of both chips (ELCR kept, as on the PIIX).</summary>
    public void Reset()
    {
        Master.Reset();
        Slave.Reset();
        UpdateCascade();
    }

    /// <summary>Drives IRQ <paramref name="irq"/>. IRQ 2 is the cascade and out-of-range IRQs are ignored.</summary>
    /// <returns>False when the IRQ number was not accepted.</returns>
    public bool SetIrq(int irq, bool asserted)
    {
        if ((uint)irq >= IrqCount || irq == CascadeInput)
        {
            return false;
        }

        if (irq < Pic8259Chip.Inputs)
        {
            Master.SetInput(irq, asserted);
        }
        else
        {
            Slave.SetInput(irq - Pic8259Chip.Inputs, asserted);
            UpdateCascade();
        }

        return true;
    }

    /// <summary>
    /// The INTA cycle. Returns the vector of the highest-priority request and marks it in service.
    /// With nothing pending the master answers IR7 (spurious, ISR untouched); when the master
    /// accepts the cascade but the slave's request has gone, the slave answers IR7 (IRQ 15).
    /// </summary>
    public byte Acknowledge()
    {
        int input = Master.PendingInput();
        if (input < 0)
        {
            return (byte)(Master.VectorBase + Pic8259Chip.SpuriousInput);
        }

        byte vector;
        if (input == CascadeInput)
        {
            int slaveInput = Slave.PendingInput();
            if (slaveInput >= 0)
            {
                Slave.Acknowledge(slaveInput);
            }
            else
            {
                slaveInput = Pic8259Chip.SpuriousInput;
            }

            vector = (byte)(Slave.VectorBase + slaveInput);
        }
        else
        {
            vector = (byte)(Master.VectorBase + input);
        }

        Master.Acknowledge(input);
        UpdateCascade();
        return vector;
    }

    /// <summary>A guest read of one byte register.</summary>
    public byte Read(PicBlock block, int offset)
    {
        if (block == PicBlock.Elcr)
        {
            return offset == ElcrMasterOffset ? Master.Elcr : Slave.Elcr;
        }

        Pic8259Chip chip = block == PicBlock.Master ? Master : Slave;
        if (offset == Pic8259Chip.CommandOffset && chip.PollPending)
        {
            // Poll command (OCW3 P=1): the read is an INTA for this chip alone.
            chip.ClearPoll();
            int input = chip.PendingInput();
            if (input < 0)
            {
                return 0;
            }

            chip.Acknowledge(input);
            UpdateCascade();
            return (byte)(Pic8259Chip.PollInterruptBit | input);
        }

        return chip.Read(offset);
    }

    /// <summary>A guest write of one byte register.</summary>
    public void Write(PicBlock block, int offset, byte value)
    {
        if (block == PicBlock.Elcr)
        {
            if (offset == ElcrMasterOffset)
            {
                Master.Elcr = (byte)(value & ElcrMasterWritableMask);
            }
            else
            {
                Slave.Elcr = (byte)(value & ElcrSlaveWritableMask);
            }
        }
        else
        {
            (block == PicBlock.Master ? Master : Slave).Write(offset, value);
        }

        UpdateCascade();
    }

    private void UpdateCascade() => Master.SetInput(CascadeInput, Slave.PendingInput() >= 0);
}
