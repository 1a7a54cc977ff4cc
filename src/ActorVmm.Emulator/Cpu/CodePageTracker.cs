using System.Runtime.CompilerServices;
using ActorVmm.Machine.Memory;

namespace ActorVmm.Emulator.Cpu;

/// <summary>
/// Shared by all vCPUs of a VM: a generation number per guest-physical page that holds decoded
/// code. Any write to such a page (by a guest store or by a device through <see cref="GuestMemory"/>)
/// bumps the generation, and each vCPU's decoded-instruction cache drops pages whose generation moved.
/// Pages above <see cref="PageCount"/> are never cached.
/// </summary>
internal sealed class CodePageTracker : IGuestMemoryWriteObserver
{
    /// <summary>The highest tracked guest RAM (pages above it are decoded every time).</summary>
    public const ulong MaxTrackedBytes = 64UL << 30;

    private readonly int[] _generation;
    /// <summary>Pinned, so <see cref="CodeFlagAddress"/> can hand out addresses into it.</summary>
    private readonly byte[] _isCode;

    /// <summary>The is-code byte of every page above <see cref="PageCount"/>: always 0 (such pages are never cached).</summary>
    private static readonly byte[] NeverCode = GC.AllocateArray<byte>(1, pinned: true);

    public CodePageTracker(GuestMemory memory)
    {
        ulong end = 0;
        foreach (var region in memory.Regions)
        {
            end = Math.Max(end, region.GuestPhysicalAddress + region.Size);
        }

        PageCount = (int)(Math.Min(end, MaxTrackedBytes) >> 12);
        _generation = new int[PageCount];
        _isCode = GC.AllocateArray<byte>(PageCount, pinned: true);
    }

    /// <summary>Number of tracked 4 KiB pages from guest-physical 0.</summary>
    public int PageCount { get; }

    /// <summary>Current generation of a tracked page.</summary>
    public int Generation(int page) => Volatile.Read(ref _generation[page]);

    /// <summary>Marks a page as holding decoded code, then returns its generation (in that order, so a racing write is seen).</summary>
    public int MarkCode(int page)
    {
        Volatile.Write(ref _isCode[page], 1);
        Interlocked.MemoryBarrier();
        return Volatile.Read(ref _generation[page]);
    }

    /// <summary>
    /// The address of a page's is-code byte, nonzero once the page holds decoded code: the host TLB keeps it with a
    /// write entry, and a store through the entry checks it, so a page that becomes code after the fill still has its
    /// stores seen.
    /// </summary>
    public unsafe nint CodeFlagAddress(ulong page)
    {
        ref byte flag = ref page < (ulong)PageCount ? ref _isCode[(int)page] : ref NeverCode[0];
        // Safe: both arrays are pinned (pinned object heap) and live as long as the tracker (NeverCode: the process).
        return (nint)Unsafe.AsPointer(ref flag);
    }

    /// <summary>A guest store to [address, address + length) (length ≤ 8) happened.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void OnGuestWrite(ulong address, int length)
    {
        // The common case, inline at every store: one page, not code.
        ulong page = address >> 12;
        if (page < (ulong)_isCode.Length && _isCode[page] == 0 && (address & 0xFFF) + (ulong)length <= 0x1000)
        {
            return;
        }

        BumpWrittenCode(address, length);
    }

    private void BumpWrittenCode(ulong address, int length)
    {
        ulong first = address >> 12;
        if (first < (ulong)PageCount && _isCode[first] != 0)
        {
            Interlocked.Increment(ref _generation[first]);
        }

        ulong last = (address + (ulong)length - 1) >> 12;
        if (last != first && last < (ulong)PageCount && _isCode[last] != 0)
        {
            Interlocked.Increment(ref _generation[last]);
        }
    }

    /// <inheritdoc />
    public void OnHostWrite(ulong address, ulong length)
    {
        if (length == 0)
        {
            return;
        }

        ulong first = address >> 12;
        ulong last = (address + length - 1) >> 12;
        for (ulong page = first; page <= last && page < (ulong)PageCount; page++)
        {
            if (_isCode[page] != 0)
            {
                Interlocked.Increment(ref _generation[page]);
            }
        }
    }
}
