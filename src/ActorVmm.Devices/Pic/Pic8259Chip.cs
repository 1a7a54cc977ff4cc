namespace ActorVmm.Devices.Pic;

/// <summary>
/// One Intel 8259A programmable interrupt controller as a pure state machine: the command
/// (offset 0) and data (offset 1) ports, the IRR/ISR/IMR registers, the ICW1–ICW4 initialisation
/// sequence and the OCW2/OCW3 operation commands. It has no lock and no output line; the
/// <see cref="PicPair"/> cascades two of them and decides what INTR means.
/// </summary>
public sealed class Pic8259Chip
{
    /// <summary>Command port offset: ICW1, OCW2, OCW3 on write; IRR/ISR (or poll) on read.</summary>
    public const int CommandOffset = 0;

    /// <summary>Data port offset: ICW2–ICW4 during init, OCW1 (IMR) afterwards.</summary>
    public const int DataOffset = 1;

    /// <summary>ICW1 marker: bit 4 set on a command-port write starts initialisation.</summary>
    public const byte Icw1InitBit = 0b0001_0000;

    /// <summary>ICW1 bit 0: ICW4 follows.</summary>
    public const byte Icw1NeedIcw4Bit = 0b0000_0001;

    /// <summary>ICW1 bit 1: single chip, no ICW3.</summary>
    public const byte Icw1SingleBit = 0b0000_0010;

    /// <summary>ICW1 bit 3: level-triggered inputs (LTIM) for the whole chip.</summary>
    public const byte Icw1LevelBit = 0b0000_1000;

    /// <summary>ICW2: the vector base is its top five bits.</summary>
    public const byte Icw2VectorMask = 0b1111_1000;

    /// <summary>ICW4 bit 1: automatic EOI at the INTA cycle.</summary>
    public const byte Icw4AutoEoiBit = 0b0000_0010;

    /// <summary>ICW4 bit 4: special fully nested mode (master only).</summary>
    public const byte Icw4SpecialFullyNestedBit = 0b0001_0000;

    /// <summary>OCW3 marker: bit 3 set (bit 4 clear) on a command-port write.</summary>
    public const byte Ocw3MarkerBit = 0b0000_1000;

    /// <summary>OCW3 bit 0: read ISR (1) or IRR (0), effective when <see cref="Ocw3ReadRegisterBit"/> is set.</summary>
    public const byte Ocw3ReadIsrBit = 0b0000_0001;

    /// <summary>OCW3 bit 1: the read-register selection in bit 0 is valid.</summary>
    public const byte Ocw3ReadRegisterBit = 0b0000_0010;

    /// <summary>OCW3 bit 2: poll command; the next command-port read is an INTA.</summary>
    public const byte Ocw3PollBit = 0b0000_0100;

    /// <summary>OCW3 bit 5: special mask mode value, effective when <see cref="Ocw3EnableSpecialMaskBit"/> is set.</summary>
    public const byte Ocw3SpecialMaskBit = 0b0010_0000;

    /// <summary>OCW3 bit 6: the special mask value in bit 5 is valid.</summary>
    public const byte Ocw3EnableSpecialMaskBit = 0b0100_0000;

    /// <summary>OCW2 command field: bits 7–5.</summary>
    public const int Ocw2CommandShift = 5;

    /// <summary>OCW2 level field: bits 2–0 (IRQ for specific commands).</summary>
    public const byte Ocw2LevelMask = 0b0000_0111;

    /// <summary>OCW2 001: non-specific EOI.</summary>
    public const int Ocw2NonSpecificEoi = 0b001;

    /// <summary>OCW2 011: specific EOI for the level in bits 2–0.</summary>
    public const int Ocw2SpecificEoi = 0b011;

    /// <summary>OCW2 101: rotate on non-specific EOI.</summary>
    public const int Ocw2RotateNonSpecificEoi = 0b101;

    /// <summary>OCW2 100: set rotate in automatic EOI mode.</summary>
    public const int Ocw2SetRotateAutoEoi = 0b100;

    /// <summary>OCW2 000: clear rotate in automatic EOI mode.</summary>
    public const int Ocw2ClearRotateAutoEoi = 0b000;

    /// <summary>OCW2 110: set priority (lowest = the level in bits 2–0).</summary>
    public const int Ocw2SetPriority = 0b110;

    /// <summary>OCW2 111: rotate on specific EOI.</summary>
    public const int Ocw2RotateSpecificEoi = 0b111;

    /// <summary>Poll-mode read bit 7: an interrupt was pending (level in bits 2–0).</summary>
    public const byte PollInterruptBit = 0b1000_0000;

    /// <summary>Inputs per chip.</summary>
    public const int Inputs = 8;

    /// <summary>The input a spurious INTA reports (IR7).</summary>
    public const int SpuriousInput = 7;

    private const int NoPriority = 8;

    private readonly bool _isMaster;
    private byte _lastLevels;
    private PicInitStep _init;
    private bool _needIcw4;
    private bool _single;
    private bool _readIsr;
    private bool _pollPending;

    /// <summary>Creates a chip; the master's cascade input is excluded from special-fully-nested priority.</summary>
    public Pic8259Chip(bool isMaster)
    {
        _isMaster = isMaster;
    }

    /// <summary>Interrupt request register.</summary>
    public byte Irr { get; private set; }

    /// <summary>In-service register.</summary>
    public byte Isr { get; private set; }

    /// <summary>Interrupt mask register (OCW1).</summary>
    public byte Imr { get; private set; }

    /// <summary>Edge/level control register (ELCR): bit set = level-triggered input.</summary>
    public byte Elcr { get; set; }

    /// <summary>Vector base from ICW2.</summary>
    public byte VectorBase { get; private set; }

    /// <summary>The input with the lowest priority is <c>(PriorityAdd + 7) &amp; 7</c>; 0 after init (IR0 highest).</summary>
    public int PriorityAdd { get; private set; }

    /// <summary>True when ICW4 selected automatic EOI.</summary>
    public bool AutoEoi { get; private set; }

    /// <summary>True when OCW2 selected rotate-on-automatic-EOI.</summary>
    public bool RotateOnAutoEoi { get; private set; }

    /// <summary>True in special mask mode (OCW3): masked ISR bits do not block lower priorities.</summary>
    public bool SpecialMask { get; private set; }

    /// <summary>True in special fully nested mode (ICW4).</summary>
    public bool SpecialFullyNested { get; private set; }

    /// <summary>True when ICW1 selected level-triggered mode for every input (LTIM).</summary>
    public bool LevelTriggeredAll { get; private set; }

    /// <summary>True while the chip waits for ICW2–ICW4.</summary>
    public bool Initializing => _init != PicInitStep.Ready;

    /// <summary>The chip's state as an immutable record.</summary>
    public PicChipState CaptureState() => new(
        Irr, Isr, Imr, Elcr, _lastLevels, VectorBase, PriorityAdd, _init, _needIcw4, _single,
        _readIsr, _pollPending, AutoEoi, RotateOnAutoEoi, SpecialMask, SpecialFullyNested, LevelTriggeredAll);

    /// <summary>Takes over a validated state (<see cref="PicState.Validate"/>).</summary>
    internal void LoadState(PicChipState state)
    {
        Irr = state.Irr;
        Isr = state.Isr;
        Imr = state.Imr;
        Elcr = state.Elcr;
        _lastLevels = state.InputLevels;
        VectorBase = state.VectorBase;
        PriorityAdd = state.PriorityAdd;
        _init = state.Init;
        _needIcw4 = state.NeedIcw4;
        _single = state.Single;
        _readIsr = state.ReadIsr;
        _pollPending = state.PollPending;
        AutoEoi = state.AutoEoi;
        RotateOnAutoEoi = state.RotateOnAutoEoi;
        SpecialMask = state.SpecialMask;
        SpecialFullyNested = state.SpecialFullyNested;
        LevelTriggeredAll = state.LevelTriggeredAll;
    }

    /// <summary>Power-on state; the ELCR survives as on the PIIX (it belongs to the chipset, not the 8259).</summary>
    public void Reset()
    {
        ResetForInit();
        _init = PicInitStep.Ready;
        Irr = 0;
        _lastLevels = 0;
    }

    /// <summary>Drives input <paramref name="input"/>; edge inputs latch IRR on a rising edge, level inputs follow the line.</summary>
    public void SetInput(int input, bool asserted)
    {
        byte mask = (byte)(1 << (input & 7));
        if (IsLevel(mask))
        {
            Irr = asserted ? (byte)(Irr | mask) : (byte)(Irr & ~mask);
        }
        else if (asserted && (_lastLevels & mask) == 0)
        {
            Irr |= mask;
        }

        _lastLevels = asserted ? (byte)(_lastLevels | mask) : (byte)(_lastLevels & ~mask);
    }

    /// <summary>The input that would be delivered now, or -1: highest-priority unmasked IRR bit that beats every in-service level.</summary>
    public int PendingInput()
    {
        int priority = Priority(Irr & ~Imr);
        if (priority == NoPriority)
        {
            return -1;
        }

        int inService = Isr;
        if (SpecialMask)
        {
            inService &= ~Imr;
        }

        if (SpecialFullyNested && _isMaster)
        {
            // The slave's own nesting decides; the master lets a higher slave IRQ through.
            inService &= ~(1 << PicPair.CascadeInput);
        }

        return priority < Priority(inService) ? (priority + PriorityAdd) & 7 : -1;
    }

    /// <summary>The INTA cycle for <paramref name="input"/>: sets ISR (unless auto-EOI) and clears an edge request.</summary>
    public void Acknowledge(int input)
    {
        byte mask = (byte)(1 << input);
        if (AutoEoi)
        {
            if (RotateOnAutoEoi)
            {
                PriorityAdd = (input + 1) & 7;
            }
        }
        else
        {
            Isr |= mask;
        }

        if (!IsLevel(mask))
        {
            Irr &= (byte)~mask;
        }
    }

    /// <summary>A guest write to the chip's command (0) or data (1) port.</summary>
    public void Write(int offset, byte value)
    {
        if (offset == CommandOffset)
        {
            WriteCommand(value);
        }
        else
        {
            WriteData(value);
        }
    }

    /// <summary>True when the next command-port read is a poll (OCW3 P bit was written).</summary>
    public bool PollPending => _pollPending;

    /// <summary>
    /// A guest read of a port without the poll side effect: command → IRR or ISR per OCW3, data → IMR.
    /// Poll reads are handled by <see cref="PicPair"/>, which must see both chips.
    /// </summary>
    public byte Read(int offset) => offset == CommandOffset ? (_readIsr ? Isr : Irr) : Imr;

    /// <summary>Ends a poll command (the read happened).</summary>
    public void ClearPoll() => _pollPending = false;

    private bool IsLevel(byte mask) => LevelTriggeredAll || (Elcr & mask) != 0;

    private int Priority(int mask)
    {
        if ((mask & 0xFF) == 0)
        {
            return NoPriority;
        }

        int priority = 0;
        while ((mask & (1 << ((priority + PriorityAdd) & 7))) == 0)
        {
            priority++;
        }

        return priority;
    }

    private void ResetForInit()
    {
        Isr = 0;
        Imr = 0;
        PriorityAdd = 0;
        VectorBase = 0;
        _readIsr = false;
        _pollPending = false;
        SpecialMask = false;
        AutoEoi = false;
        RotateOnAutoEoi = false;
        SpecialFullyNested = false;
        LevelTriggeredAll = false;
        _needIcw4 = false;
        _single = false;

        // Edge detection restarts: a line still high must rise again; level requests stay.
        _lastLevels = 0;
        Irr &= Elcr;
    }

    private void WriteCommand(byte value)
    {
        if ((value & Icw1InitBit) != 0)
        {
            ResetForInit();
            _init = PicInitStep.ExpectIcw2;
            _needIcw4 = (value & Icw1NeedIcw4Bit) != 0;
            _single = (value & Icw1SingleBit) != 0;
            LevelTriggeredAll = (value & Icw1LevelBit) != 0;
            return;
        }

        if ((value & Ocw3MarkerBit) != 0)
        {
            WriteOcw3(value);
            return;
        }

        WriteOcw2(value);
    }

    private void WriteOcw3(byte value)
    {
        if ((value & Ocw3PollBit) != 0)
        {
            _pollPending = true;
        }

        if ((value & Ocw3ReadRegisterBit) != 0)
        {
            _readIsr = (value & Ocw3ReadIsrBit) != 0;
        }

        if ((value & Ocw3EnableSpecialMaskBit) != 0)
        {
            SpecialMask = (value & Ocw3SpecialMaskBit) != 0;
        }
    }

    private void WriteOcw2(byte value)
    {
        int level = value & Ocw2LevelMask;
        switch (value >> Ocw2CommandShift)
        {
            case Ocw2ClearRotateAutoEoi:
                RotateOnAutoEoi = false;
                break;
            case Ocw2SetRotateAutoEoi:
                RotateOnAutoEoi = true;
                break;
            case Ocw2NonSpecificEoi:
            case Ocw2RotateNonSpecificEoi:
                int priority = Priority(Isr);
                if (priority != NoPriority)
                {
                    int input = (priority + PriorityAdd) & 7;
                    Isr &= (byte)~(1 << input);
                    if (value >> Ocw2CommandShift == Ocw2RotateNonSpecificEoi)
                    {
                        PriorityAdd = (input + 1) & 7;
                    }
                }

                break;
            case Ocw2SpecificEoi:
                Isr &= (byte)~(1 << level);
                break;
            case Ocw2SetPriority:
                PriorityAdd = (level + 1) & 7;
                break;
            case Ocw2RotateSpecificEoi:
                Isr &= (byte)~(1 << level);
                PriorityAdd = (level + 1) & 7;
                break;
            default:
                // 010 is "no operation".
                break;
        }
    }

    private void WriteData(byte value)
    {
        switch (_init)
        {
            case PicInitStep.ExpectIcw2:
                VectorBase = (byte)(value & Icw2VectorMask);
                _init = _single ? (_needIcw4 ? PicInitStep.ExpectIcw4 : PicInitStep.Ready) : PicInitStep.ExpectIcw3;
                break;
            case PicInitStep.ExpectIcw3:
                // Cascade wiring is fixed (slave on IR2); the value is accepted and not needed.
                _init = _needIcw4 ? PicInitStep.ExpectIcw4 : PicInitStep.Ready;
                break;
            case PicInitStep.ExpectIcw4:
                AutoEoi = (value & Icw4AutoEoiBit) != 0;
                SpecialFullyNested = (value & Icw4SpecialFullyNestedBit) != 0;
                _init = PicInitStep.Ready;
                break;
            default:
                Imr = value;
                break;
        }
    }
}
