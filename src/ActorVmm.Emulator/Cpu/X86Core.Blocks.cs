using System.Runtime.CompilerServices;
using Iced.Intel;

namespace ActorVmm.Emulator.Cpu;

/// <summary>
/// The dispatcher between the interpreter and translated blocks: counts how often an instruction starts a run,
/// translates it once hot, runs blocks and follows their chained successors.
/// </summary>
internal sealed partial class X86Core
{
    /// <summary>Environment variable that turns block translation off when set to <c>0</c> (the interpreter alone runs).</summary>
    public const string TranslationVariable = "ACTORVMM_EMU_TRANSLATE";

    /// <summary>
    /// Times the interpreter runs an instruction before a block is translated from it. RyuJIT spends about 0.3 ms per
    /// guest instruction of a block, so a block must run thousands of times to pay for itself: on Debian's kernel
    /// booting to init (docs/performance.md) 2000 beat 32, 500 and 5000.
    /// </summary>
    public const int DefaultTranslationThreshold = 2000;

    /// <summary>
    /// Entries into a block before it is translated again with every instruction it stopped before that the
    /// interpreter can run inside it (<see cref="BlockOp.Interpret"/>): first translations stay short, only blocks
    /// this hot grow.
    /// </summary>
    public const int DefaultExtensionThreshold = 20_000;

    /// <summary>Most guest instructions in one block.</summary>
    private const int MaxBlockInstructions = 64;

    private static readonly bool TranslationByDefault = Environment.GetEnvironmentVariable(TranslationVariable) != "0";

    private readonly List<Instruction> _blockCode = new(MaxBlockInstructions);
    private TranslatedBlock? _lastBlock;
    private int _lastExit;
    private int _translationThreshold = DefaultTranslationThreshold;
    private int _extensionThreshold = DefaultExtensionThreshold;

    /// <summary>Whether hot code is translated to .NET code (default: on unless <see cref="TranslationVariable"/> is 0).</summary>
    internal bool TranslationEnabled { get; set; } = TranslationByDefault;

    /// <summary>Interpreted runs of an instruction before translation (1 translates on first sight; tests use that).</summary>
    internal int TranslationThreshold
    {
        get => _translationThreshold;
        set => _translationThreshold = Math.Clamp(value, 1, ushort.MaxValue);
    }

    /// <summary>Entries into a short block before it is translated again with the interpreter inside it (1: on the second entry; tests use that).</summary>
    internal int ExtensionThreshold
    {
        get => _extensionThreshold;
        set => _extensionThreshold = Math.Max(value, 1);
    }

    /// <summary>Blocks translated so far.</summary>
    internal long BlocksTranslated { get; private set; }

    /// <summary>Times a translated block was entered (from the dispatcher or by chaining).</summary>
    internal long BlocksEntered { get; private set; }

    /// <summary>One step of a batch: a translated block (and its chained successors), or one interpreted instruction.</summary>
    private void StepOrRunBlock()
    {
        _instrStart = Rip;
        ref CachedInstruction cached = ref Fetch();
        var block = cached.Block;
        if (block is null && !cached.Untranslatable && ++cached.Hits >= _translationThreshold
            && !Unsafe.AreSame(ref cached, ref _uncached))
        {
            block = TranslateFrom(_fetchPage!, CodeLinear(Rip), extended: false);
            cached.Block = block;
            cached.Untranslatable = block is null;
        }
        else if (block is { Extendable: true } && block.Entries >= _extensionThreshold && block.EntryRip == Rip)
        {
            // Hot enough to pay for the longer translation: replace it (chains to the old one see it replaced).
            block.Extendable = false;
            if (TranslateFrom(_fetchPage!, CodeLinear(Rip), extended: true) is { } wider)
            {
                block.Replaced = true;
                block = wider;
                cached.Block = block;
            }
        }

        // With one instruction of budget left (MOV SS/STI shadow), the interpreter runs it so the interrupt check follows.
        if (block is not null && block.EntryRip == Rip && _budget > 1)
        {
            if (_lastBlock is { } previous && previous.Page == block.Page)
            {
                // Chain the edge the previous block left through, so the next pass skips the dispatcher.
                if (_lastExit == TranslatedBlock.ExitTaken)
                {
                    previous.Taken = block;
                }
                else
                {
                    previous.FallThrough = block;
                }
            }

            RunBlocks(block);
            return;
        }

        _lastBlock = null;
        _budget--;
        ExecuteCached(ref cached);
    }

    /// <summary>Runs <paramref name="block"/>, then its chained successors while they are current and the batch lasts.</summary>
    private void RunBlocks(TranslatedBlock block)
    {
        _lastBlock = null;
        while (true)
        {
            BlocksEntered++;
            if (block.Extendable)
            {
                block.Entries++;
            }

            int exit = block.Body(this);
            if (exit == TranslatedBlock.ExitOther || _budget <= 1)
            {
                return;
            }

            // A successor due for extension goes back through the dispatcher, which holds the instruction it hangs off.
            var next = exit == TranslatedBlock.ExitTaken ? block.Taken : block.FallThrough;
            if (next is null || next.EntryRip != Rip || !IsCurrent(next) || next.Extendable && next.Entries >= _extensionThreshold)
            {
                _lastBlock = block;
                _lastExit = exit;
                return;
            }

            block = next;
        }
    }

    /// <summary>
    /// A chained successor is on the same page as its predecessor (linked only so): the same linear→physical mapping
    /// holds, since nothing between two chained blocks runs outside translated code. It still needs its page
    /// undecoded-since (epoch) and unwritten-since (generation), and the same code bitness.
    /// </summary>
    private bool IsCurrent(TranslatedBlock block) =>
        !block.Replaced && block.Epoch == block.Page.Epoch && block.Page.Bitness == _bitness
        && block.Generation == _code.Generation(block.Page.PhysicalPage);

    /// <summary>
    /// Runs one instruction of a translated block through the interpreter, as <see cref="ExecuteCached"/> would:
    /// takes the block's <paramref name="counted"/> instructions so far (this one included), moves RIP past it, runs
    /// it. True when the block may go on with its next instruction: RIP did not leave the straight line (a transfer,
    /// a string instruction to be resumed), the batch has more than one instruction left (an exit request ends it;
    /// after STI exactly one more instruction runs before the interrupt check, and the dispatcher runs it), and the
    /// block's own page was not written.
    /// </summary>
    private bool InterpretInBlock(ref CachedInstruction cached, ulong start, ulong next, int counted, int page, int generation)
    {
        _retired += counted;
        _budget -= counted;
        _instrStart = start;
        Rip = next;
        if (cached.Kind == FastKind.Generic || !ExecuteFast(ref cached))
        {
            Execute(ref cached.Instruction);
        }

        return Rip == next && _budget > 1 && _code.Generation(page) == generation;
    }

    /// <summary>
    /// Decodes the straight run from <paramref name="linear"/> to the first branch (or untranslated instruction) and
    /// compiles it. Not <paramref name="extended"/>, the interpreter runs inside the block only its first instruction,
    /// and the block is marked extendable when it stopped before another one it could run.
    /// </summary>
    private unsafe TranslatedBlock? TranslateFrom(CodePage page, ulong linear, bool extended)
    {
        int offset = (int)(linear & 0xFFF);
        if (!_memory.TryTranslate(((ulong)page.PhysicalPage << 12) + (ulong)offset, (ulong)(CodePage.Size - offset), out nint host))
        {
            return null;
        }

        // Safe: TryTranslate proved [host, host + (4096 - offset)) lies inside a mapped RAM slot.
        _reader.Reset((byte*)host, CodePage.Size - offset);
        var decoder = DecoderForMode();
        decoder.IP = Rip;
        _blockCode.Clear();
        bool extendable = false;
        while (_blockCode.Count < MaxBlockInstructions)
        {
            decoder.Decode(out var instruction);
            var shape = ShapeOf(instruction);
            // Stop before an untranslated instruction, one that crosses the page end, or one whose successor's IP wraps.
            if (shape.Op == BlockOp.None || (instruction.NextIP & _ipMask) != instruction.NextIP)
            {
                break;
            }

            if (!extended && _blockCode.Count > 0 && shape.Op is BlockOp.Interpret or BlockOp.InterpretBranch)
            {
                extendable = true;
                break;
            }

            _blockCode.Add(instruction);
            if (shape.EndsBlock)
            {
                break;
            }
        }

        if (_blockCode.Count == 0)
        {
            return null;
        }

        var body = BlockCompiler.Compile(_blockCode, _bitness, page.PhysicalPage, page.Generation);
        BlocksTranslated++;
        return new TranslatedBlock(body, Rip, page, page.Generation, _blockCode.Count) { Extendable = extendable };
    }
}
