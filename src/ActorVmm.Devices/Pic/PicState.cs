namespace ActorVmm.Devices.Pic;

/// <summary>Where an 8259A is in its initialisation sequence.</summary>
public enum PicInitStep
{
    /// <summary>Initialised: data-port writes set the mask (OCW1).</summary>
    Ready = 0,

    /// <summary>ICW1 was written; the vector base (ICW2) comes next.</summary>
    ExpectIcw2 = 1,

    /// <summary>Cascade mode: ICW3 comes next.</summary>
    ExpectIcw3 = 2,

    /// <summary>ICW1 asked for ICW4, which comes next.</summary>
    ExpectIcw4 = 3,
}

/// <summary>
/// The 8259A pair's guest-visible state with the ELCR: each chip's registers, initialisation progress, modes and
/// input levels (what edge detection compares against). The ports and the VM attachment are wiring, not state.
/// </summary>
/// <param name="Master">The master chip (IRQ 0–7).</param>
/// <param name="Slave">The slave chip (IRQ 8–15).</param>
public sealed record PicState(PicChipState Master, PicChipState Slave) : DeviceState
{
    /// <inheritdoc />
    public override void Validate()
    {
        ValidateChip("master", Master, PicPair.ElcrMasterWritableMask);
        ValidateChip("slave", Slave, PicPair.ElcrSlaveWritableMask);
    }

    private void ValidateChip(string name, PicChipState? chip, byte elcrWritable)
    {
        Require(chip is not null, $"the {name} chip is missing");
        Require((chip!.VectorBase & ~Pic8259Chip.Icw2VectorMask) == 0, $"{name} vector base 0x{chip.VectorBase:X2} is not a multiple of 8");
        Require(chip.PriorityAdd is >= 0 and < Pic8259Chip.Inputs, $"{name} priority rotation {chip.PriorityAdd} is not 0..7");
        Require((chip.Elcr & ~elcrWritable) == 0, $"{name} ELCR 0x{chip.Elcr:X2} marks an always-edge-triggered IRQ level-triggered");
        Require(Enum.IsDefined(chip.Init), $"{name} initialisation step {chip.Init} does not exist");
        Require(chip.Init != PicInitStep.ExpectIcw3 || !chip.Single, $"the {name} chip waits for ICW3 although ICW1 said single");
        Require(chip.Init != PicInitStep.ExpectIcw4 || chip.NeedIcw4, $"the {name} chip waits for ICW4 although ICW1 did not ask for it");
    }
}

/// <summary>One 8259A's state.</summary>
/// <param name="Irr">Interrupt request register.</param>
/// <param name="Isr">In-service register.</param>
/// <param name="Imr">Interrupt mask register.</param>
/// <param name="Elcr">The chipset's edge/level control register for this chip's inputs.</param>
/// <param name="InputLevels">The last level of each input line (edge detection).</param>
/// <param name="VectorBase">Vector base from ICW2.</param>
/// <param name="PriorityAdd">Priority rotation: the lowest-priority input is <c>(PriorityAdd + 7) &amp; 7</c>.</param>
/// <param name="Init">Initialisation progress.</param>
/// <param name="NeedIcw4">ICW1 asked for ICW4.</param>
/// <param name="Single">ICW1 selected single mode (no ICW3).</param>
/// <param name="ReadIsr">OCW3 selected ISR (rather than IRR) for command-port reads.</param>
/// <param name="PollPending">OCW3 poll command: the next command-port read is an INTA.</param>
/// <param name="AutoEoi">ICW4 automatic EOI.</param>
/// <param name="RotateOnAutoEoi">OCW2 rotate in automatic EOI mode.</param>
/// <param name="SpecialMask">OCW3 special mask mode.</param>
/// <param name="SpecialFullyNested">ICW4 special fully nested mode.</param>
/// <param name="LevelTriggeredAll">ICW1 LTIM: every input level-triggered.</param>
public sealed record PicChipState(
    byte Irr,
    byte Isr,
    byte Imr,
    byte Elcr,
    byte InputLevels,
    byte VectorBase,
    int PriorityAdd,
    PicInitStep Init,
    bool NeedIcw4,
    bool Single,
    bool ReadIsr,
    bool PollPending,
    bool AutoEoi,
    bool RotateOnAutoEoi,
    bool SpecialMask,
    bool SpecialFullyNested,
    bool LevelTriggeredAll);
