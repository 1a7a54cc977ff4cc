using System.Collections.Concurrent;
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

    /// <summary>Environment variable that keeps a VM's block compilation on its vCPU threads when set to <c>0</c>.</summary>
    public const string CompileThreadVariable = "ACTORVMM_EMU_COMPILE_THREAD";

    /// <summary>
    /// Times the interpreter runs a block head (<see cref="_atBlockHead"/>) before a block is translated from it.
    /// RyuJIT spends about 0.3 ms per guest instruction of a block, on the compiler thread, and queued blocks wait
    /// behind each other. On Debian's kernel booting to init with one vCPU (docs/performance.md), to init: 250: 29 s,
    /// 500: 24–26 s, 1000: 25 s, 2000: 24–25 s, 3000: 28 s, 5000: 27 s, 20 000: 28 s; 2000 also leaves the compiler
    /// thread the least CPU of the fast ones (4 s), which matters when the vCPUs use every core.
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

    /// <summary>Whether a VM's cores compile on the compiler thread (default: yes unless <see cref="CompileThreadVariable"/> is 0).</summary>
    internal static readonly bool CompileInBackgroundByDefault = Environment.GetEnvironmentVariable(CompileThreadVariable) != "0";

    private readonly List<Instruction> _blockCode = new(MaxBlockInstructions);
    private readonly ConcurrentQueue<BlockCompilation> _compiled = new();
    private TranslatedBlock? _lastBlock;

    /// <summary>
    /// Whether the instruction at RIP starts a block: the dispatcher's last step was a block, a transfer, an
    /// instruction blocks end at, or the batch just began. Only heads count runs towards translation, so a loop
    /// interpreted while its block compiles does not queue a block for each of its instructions too.
    /// </summary>
    private bool _atBlockHead = true;
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

    /// <summary>
    /// Whether blocks compile on the process's compiler thread (<see cref="BackgroundBlockCompiler"/>) while this core
    /// goes on interpreting, rather than on this core's thread before it goes on. The VM's cores do; tests that need a
    /// block at a known moment do not.
    /// </summary>
    internal bool CompileInBackground { get; set; }

    /// <summary>Compiled blocks back from the compiler thread, not installed yet (the next batch installs them).</summary>
    internal int CompiledBlocksWaiting => _compiled.Count;

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
        if (block is null && _atBlockHead && !cached.Untranslatable && !cached.Queued && ++cached.Hits >= _translationThreshold
            && !Unsafe.AreSame(ref cached, ref _uncached))
        {
            block = TranslateBlock(ref cached, replaces: null);
        }
        else if (block is { Extendable: true } && block.Entries >= _extensionThreshold && block.EntryRip == Rip)
        {
            // Hot enough to pay for the longer translation: replace it (chains to the old one see it replaced).
            block.Extendable = false;
            block = TranslateBlock(ref cached, replaces: block);
        }

        // With one instruction of budget left (MOV SS/STI shadow), the interpreter runs it so the interrupt check follows.
        if (block is not null && block.EntryRip == Rip && _budget > 1)
        {
            if (_lastBlock is { } previous)
            {
                // Chain the edge the previous block left through, so the next pass skips the dispatcher.
                Link(previous, _lastExit, block);
            }

            RunBlocks(block);
            _atBlockHead = true;
            return;
        }

        _lastBlock = null;
        _budget--;
        bool endsBlock = cached.EndsBlock;
        ExecuteCached(ref cached);
        _atBlockHead = endsBlock || Rip != _instrStart + cached.Length;
    }

    /// <summary>
    /// Translates the block starting at <paramref name="cached"/> (at RIP): a first, short translation, or the longer
    /// one that <paramref name="replaces"/> a short one. Compiled here, or queued for the compiler thread (then the
    /// block to run now is still the old one, or none). Returns the block the dispatcher runs now.
    /// </summary>
    private TranslatedBlock? TranslateBlock(ref CachedInstruction cached, TranslatedBlock? replaces)
    {
        var page = _fetchPage!;
        ulong linear = CodeLinear(Rip);
        if (!DecodeBlock(page, linear, replaces, out bool extendable))
        {
            cached.Untranslatable = replaces is null;
            return replaces;
        }

        if (CompileInBackground)
        {
            cached.Queued = true;
            BackgroundBlockCompiler.Submit(new BlockCompilation(
                [.. _blockCode], _bitness, page, (int)(linear & 0xFFF), page.Generation, extendable, replaces, _compiled, _code));
            return replaces;
        }

        var block = new TranslatedBlock(CompileBlock(_blockCode, _bitness, page.PhysicalPage, page.Generation), Rip, page, page.Generation, _blockCode.Count)
        {
            Extendable = extendable,
        };
        BlocksTranslated++;
        if (replaces is not null)
        {
            replaces.Replaced = true;
        }

        cached.Block = block;
        return block;
    }

    /// <summary>
    /// Installs the blocks the compiler thread finished whose page still holds the code they were decoded from (same
    /// epoch, bitness and generation); the others are dropped (their page is re-decoded on its next fetch).
    /// </summary>
    private void InstallCompiledBlocks()
    {
        while (_compiled.TryDequeue(out var done))
        {
            if (done.Error is { } error)
            {
                throw new EmulationException($"Translating the block at 0x{done.EntryRip:X} failed: {error.Message}");
            }

            var page = done.Page;
            int index = page.Map[done.Offset];
            if (done.Body is null || page.Epoch != done.Epoch || page.Bitness != done.Bitness || page.Generation != done.Generation
                || _code.Generation(page.PhysicalPage) != done.Generation || index is 0 or CodePage.CrossesPageEnd)
            {
                continue;
            }

            ref CachedInstruction cached = ref page.Items[index - 1];
            cached.Queued = false;
            if (done.Replaces is { } replaced)
            {
                if (cached.Block != replaced)
                {
                    continue;
                }

                replaced.Replaced = true;
            }

            cached.Block = new TranslatedBlock(done.Body, done.EntryRip, page, done.Generation, done.Code.Length) { Extendable = done.Extendable };
            BlocksTranslated++;
        }
    }

    /// <summary>
    /// Runs <paramref name="block"/>, then its successors while the batch lasts: the chained one when its link still
    /// holds, else the block at RIP when RIP stays on the fetch page (returns and indirect jumps too); anything else
    /// goes back through the dispatcher, which links the edge on its next block.
    /// </summary>
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
            if (exit == TranslatedBlock.ExitTaken && block.Extendable)
            {
                block.TakenExits++;
            }

            if (_budget <= 1)
            {
                return;
            }

            var next = exit switch
            {
                TranslatedBlock.ExitTaken when IsLinked(block.Taken, block.TakenMapping) => block.Taken,
                TranslatedBlock.ExitFallThrough when IsLinked(block.FallThrough, block.FallThroughMapping) => block.FallThrough,
                TranslatedBlock.ExitSide when IsLinked(block.Side, block.SideMapping) => block.Side,
                _ => null,
            };
            if (next is null)
            {
                next = BlockAtRipOnFetchPage();
                if (next is null || !IsCurrent(next))
                {
                    _lastBlock = exit == TranslatedBlock.ExitOther ? null : block;
                    _lastExit = exit;
                    return;
                }

                Link(block, exit, next);
            }

            // A successor due for extension goes back through the dispatcher, which holds the instruction it hangs off.
            if (next.Extendable && next.Entries >= _extensionThreshold)
            {
                return;
            }

            block = next;
        }
    }

    /// <summary>Remembers that <paramref name="from"/> left through <paramref name="exit"/> into <paramref name="to"/> (an indirect exit is not linked).</summary>
    private void Link(TranslatedBlock from, int exit, TranslatedBlock to)
    {
        if (exit == TranslatedBlock.ExitTaken)
        {
            from.Taken = to;
            from.TakenMapping = _mappingEpoch;
        }
        else if (exit == TranslatedBlock.ExitFallThrough)
        {
            from.FallThrough = to;
            from.FallThroughMapping = _mappingEpoch;
        }
        else if (exit == TranslatedBlock.ExitSide)
        {
            from.Side = to;
            from.SideMapping = _mappingEpoch;
        }
    }

    /// <summary>
    /// Whether the block an edge was linked to can run next: it starts at RIP, is current, and the link was made in
    /// this code-mapping epoch (so RIP's linear page still maps to the block's physical page, at the same privilege
    /// and code segment; the same holds between pages, so links cross them).
    /// </summary>
    private bool IsLinked(TranslatedBlock? to, int mapping) =>
        to is not null && to.EntryRip == Rip && mapping == _mappingEpoch && IsCurrent(to);

    /// <summary>
    /// A successor found by a link or on the fetch page has the linear→physical mapping it was found with (see
    /// <see cref="IsLinked"/>); it still needs its page undecoded-since (epoch) and unwritten-since (generation), the
    /// same code bitness, and not to have been replaced by a longer translation.
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
    /// Decodes into <see cref="_blockCode"/> the straight run from <paramref name="linear"/> (at RIP) to the first
    /// branch or untranslated instruction; false when not even its first instruction is covered. A first
    /// translation runs the interpreter inside the block only for its first instruction, and is
    /// <paramref name="extendable"/> when it stopped before another one it could run, or at a direct branch a trace
    /// could follow on the page. The translation that <paramref name="replaces"/> such a block runs the interpreter
    /// inside it, and is a trace: past a direct JMP, and past the block's conditional branch the way it went at
    /// least two times in three (<see cref="TranslatedBlock.TakenExits"/>), it goes on at the target on the same page,
    /// the other edge becoming a side exit.
    /// </summary>
    private unsafe bool DecodeBlock(CodePage page, ulong linear, TranslatedBlock? replaces, out bool extendable)
    {
        extendable = false;
        _blockCode.Clear();
        int entryOffset = (int)(linear & 0xFFF);
        if (!_memory.TryTranslate((ulong)page.PhysicalPage << 12, CodePage.Size, out nint pageHost))
        {
            return false;
        }

        var decoder = DecoderForMode();
        int offset = entryOffset;
        ulong start = Rip;
        int segments = 0;
        while (true)
        {
            // Safe: TryTranslate proved the whole page [pageHost, pageHost + 4096) lies inside a mapped RAM slot.
            _reader.Reset((byte*)pageHost + offset, CodePage.Size - offset);
            decoder.IP = start;
            segments++;
            if (!DecodeStraightRun(decoder, replaces is not null, ref extendable))
            {
                break;
            }

            var branch = _blockCode[^1];
            bool conditional = branch.FlowControl == FlowControl.ConditionalBranch;
            ulong target = BranchTargetOf(branch);
            ulong fallThrough = branch.NextIP & _ipMask;
            if (target == Rip)
            {
                // Back to the entry: the block loops inside itself.
                break;
            }

            if (replaces is null)
            {
                // A first translation ends here; followed later (only a hot one, the way it went) as a trace.
                extendable |= OnEntryPage(target, entryOffset) || (conditional && OnEntryPage(fallThrough, entryOffset));
                break;
            }

            if (conditional && segments > 1)
            {
                // Beyond the first block no edge counts are known: the trace ends at its next conditional branch.
                break;
            }

            ulong next = !conditional ? target
                : replaces.TakenExits * 3 >= replaces.Entries * 2 ? target
                : (replaces.Entries - replaces.TakenExits) * 3 >= replaces.Entries * 2 ? fallThrough
                : Rip;
            if (next == Rip || !OnEntryPage(next, entryOffset) || _blockCode.Exists(ins => ins.IP == next))
            {
                break;
            }

            offset = (int)OffsetInEntryPage(next, entryOffset);
            start = next;
        }

        return _blockCode.Count != 0;
    }

    /// <summary>Where CS offset <paramref name="rip"/> lies relative to the entry's page (RIP is at <paramref name="entryOffset"/> in it).</summary>
    private long OffsetInEntryPage(ulong rip, int entryOffset) => (long)(rip - Rip) + entryOffset;

    /// <summary>Whether CS offset <paramref name="rip"/> lies on the entry's page.</summary>
    private bool OnEntryPage(ulong rip, int entryOffset) => (ulong)OffsetInEntryPage(rip, entryOffset) < CodePage.Size;

    /// <summary>
    /// Appends to <see cref="_blockCode"/> the straight run at the decoder up to and including a branch (true), or to
    /// an untranslated instruction, the page end or the size limit (false).
    /// </summary>
    private bool DecodeStraightRun(Decoder decoder, bool extended, ref bool extendable)
    {
        while (_blockCode.Count < MaxBlockInstructions)
        {
            decoder.Decode(out var instruction);
            var shape = ShapeOf(instruction);
            // Stop before an untranslated instruction, one that crosses the page end, or one whose successor's IP wraps.
            if (shape.Op == BlockOp.None || (instruction.NextIP & _ipMask) != instruction.NextIP)
            {
                return false;
            }

            if (!extended && _blockCode.Count > 0 && shape.Op is BlockOp.Interpret or BlockOp.InterpretBranch)
            {
                extendable = true;
                return false;
            }

            _blockCode.Add(instruction);
            if (shape.EndsBlock)
            {
                return shape.Op is BlockOp.Jcc or BlockOp.Jmp;
            }
        }

        return false;
    }

    /// <summary>A direct branch's target as an offset in CS (16- and 32-bit targets wrap in their width).</summary>
    private static ulong BranchTargetOf(in Instruction ins) => ins.Op0Kind switch
    {
        OpKind.NearBranch16 => ins.NearBranch64 & 0xFFFF,
        OpKind.NearBranch32 => ins.NearBranch64 & 0xFFFF_FFFF,
        _ => ins.NearBranch64,
    };

    /// <summary>Compiles a block and has RyuJIT compile it at once, on the calling thread (a body called without a core returns at once).</summary>
    internal static Func<X86Core, int> CompileBlock(IReadOnlyList<Instruction> code, int bitness, int page, int generation)
    {
        var body = BlockCompiler.Compile(code, bitness, page, generation);
        body(null!);
        return body;
    }
}
