namespace ActorVmm.Emulator.Cpu;

/// <summary>
/// A guest basic block compiled to .NET code (see <c>X86Core.BlockCompiler</c>): a straight run of instructions of
/// one guest-physical page, entered at <see cref="EntryRip"/> in one code bitness, ending at a branch, before an
/// instruction it does not translate, or at the page end.
/// </summary>
internal sealed class TranslatedBlock
{
    /// <summary>The block left through its final branch's taken edge (RIP is the branch target).</summary>
    public const int ExitTaken = 0;

    /// <summary>The block ran to its end without a taken branch (RIP is the next instruction).</summary>
    public const int ExitFallThrough = 1;

    /// <summary>The block left early or through an indirect transfer (RET, an exit request, a store into its own page).</summary>
    public const int ExitOther = 2;

    /// <summary>A trace left through the edge of its inner conditional branch that the trace does not follow.</summary>
    public const int ExitSide = 3;

    public TranslatedBlock(Func<X86Core, int> body, ulong entryRip, CodePage page, int generation, int instructions)
    {
        Body = body;
        EntryRip = entryRip;
        Page = page;
        Epoch = page.Epoch;
        Generation = generation;
        Instructions = instructions;
    }

    /// <summary>Runs the block on a core; returns one of the Exit constants with RIP and every register written back.</summary>
    public Func<X86Core, int> Body { get; }

    /// <summary>The RIP (offset in CS) the block was translated for; branch targets inside it are absolute.</summary>
    public ulong EntryRip { get; }

    /// <summary>The decoded-instruction page the block belongs to.</summary>
    public CodePage Page { get; }

    /// <summary>The page's epoch when translated: a cleared page has dropped the block.</summary>
    public int Epoch { get; }

    /// <summary>The code-tracker generation of the page the block was translated from.</summary>
    public int Generation { get; }

    /// <summary>Guest instructions in the block.</summary>
    public int Instructions { get; }

    /// <summary>Times the block was entered (counted while it is <see cref="Extendable"/>).</summary>
    public int Entries { get; set; }

    /// <summary>Times the block left through its taken edge (counted while it is <see cref="Extendable"/>): which way a trace follows.</summary>
    public int TakenExits { get; set; }

    /// <summary>
    /// A first, short translation that stopped before an instruction the interpreter could run inside it, or at a
    /// direct branch a trace could follow.
    /// </summary>
    public bool Extendable { get; set; }

    /// <summary>A longer translation took its place: chains to it go back through the dispatcher.</summary>
    public bool Replaced { get; set; }

    /// <summary>The block the taken edge last led to (chaining), or null.</summary>
    public TranslatedBlock? Taken { get; set; }

    /// <summary>The core's code-mapping epoch when <see cref="Taken"/> was linked (the link holds only within it).</summary>
    public int TakenMapping { get; set; }

    /// <summary>The block the fall-through edge last led to (chaining), or null.</summary>
    public TranslatedBlock? FallThrough { get; set; }

    /// <summary>The core's code-mapping epoch when <see cref="FallThrough"/> was linked.</summary>
    public int FallThroughMapping { get; set; }

    /// <summary>The block a trace's side exit last led to (chaining), or null.</summary>
    public TranslatedBlock? Side { get; set; }

    /// <summary>The core's code-mapping epoch when <see cref="Side"/> was linked.</summary>
    public int SideMapping { get; set; }
}
