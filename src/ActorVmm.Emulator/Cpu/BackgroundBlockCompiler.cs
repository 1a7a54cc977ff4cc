using System.Collections.Concurrent;
using Iced.Intel;

namespace ActorVmm.Emulator.Cpu;

/// <summary>
/// A block the dispatcher decoded and wants compiled off its vCPU thread. The vCPU fills in what it decoded; the
/// compiler thread fills in <see cref="Body"/> (or <see cref="Error"/>) and hands it back through
/// <see cref="Completed"/>; only the vCPU installs it, after checking its page still holds the code it was decoded from.
/// </summary>
internal sealed class BlockCompilation(
    Instruction[] code, int bitness, CodePage page, int offset, int generation, bool extendable, TranslatedBlock? replaces,
    ConcurrentQueue<BlockCompilation> completed, CodePageTracker tracker)
{
    /// <summary>The block's instructions, decoded at their real addresses.</summary>
    public Instruction[] Code { get; } = code;

    public int Bitness { get; } = bitness;

    /// <summary>The vCPU's decoded page the block starts in (read and written only by that vCPU's thread).</summary>
    public CodePage Page { get; } = page;

    /// <summary>The block's first byte in <see cref="Page"/>.</summary>
    public int Offset { get; } = offset;

    /// <summary>The page's epoch when decoded: a cleared page no longer holds the instruction the block hangs off.</summary>
    public int Epoch { get; } = page.Epoch;

    /// <summary>The page's tracker generation when decoded: a write to the page since makes the block stale.</summary>
    public int Generation { get; } = generation;

    /// <summary>A first, short translation (see <see cref="TranslatedBlock.Extendable"/>).</summary>
    public bool Extendable { get; } = extendable;

    /// <summary>The short translation this longer one replaces, or null for a first translation.</summary>
    public TranslatedBlock? Replaces { get; } = replaces;

    /// <summary>Where the compiler thread puts the finished compilation for the vCPU to install.</summary>
    public ConcurrentQueue<BlockCompilation> Completed { get; } = completed;

    /// <summary>The compiled body, once compiled; null if skipped as stale or failed.</summary>
    public Func<X86Core, int>? Body { get; set; }

    /// <summary>Why compiling failed (a translator defect: the vCPU reports it as an emulation error).</summary>
    public Exception? Error { get; set; }

    /// <summary>The block's entry RIP.</summary>
    public ulong EntryRip => Code[0].IP;

    /// <summary>Whether the guest wrote the page since it was decoded (then compiling it is wasted work).</summary>
    public bool IsStale => tracker.Generation(Page.PhysicalPage) != Generation;
}

/// <summary>
/// The thread that compiles translated blocks for every emulated vCPU of the process. RyuJIT spends about 0.3 ms per
/// guest instruction of a block; on the vCPU thread that was a fifth of a Linux boot's time (perf, docs/performance.md).
/// Here the vCPU goes on interpreting while its block compiles, and installs it between two batches.
/// </summary>
internal static class BackgroundBlockCompiler
{
    private static readonly BlockingCollection<BlockCompilation> Queue = new(new ConcurrentQueue<BlockCompilation>());
    private static readonly Lazy<Thread> Worker = new(Start, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Queues <paramref name="compilation"/>; it comes back through its <see cref="BlockCompilation.Completed"/> queue.</summary>
    public static void Submit(BlockCompilation compilation)
    {
        _ = Worker.Value;
        Queue.Add(compilation);
    }

    private static Thread Start()
    {
        var thread = new Thread(Run) { IsBackground = true, Name = "actorvmm-block-compiler" };
        thread.Start();
        return thread;
    }

    private static void Run()
    {
        foreach (var compilation in Queue.GetConsumingEnumerable())
        {
            if (!compilation.IsStale)
            {
                try
                {
                    compilation.Body = X86Core.CompileBlock(compilation.Code, compilation.Bitness, compilation.Page.PhysicalPage, compilation.Generation);
                }
                catch (Exception ex)
                {
                    compilation.Error = ex;
                }
            }

            compilation.Completed.Enqueue(compilation);
        }
    }
}
