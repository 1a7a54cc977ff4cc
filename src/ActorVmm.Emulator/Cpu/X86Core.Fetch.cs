using Iced.Intel;

namespace ActorVmm.Emulator.Cpu;

/// <summary>Instruction fetch through the per-page decoded-instruction cache.</summary>
internal sealed partial class X86Core
{
    private const int MaxInstructionLength = 15;

    private readonly PointerCodeReader _reader = new();
    private readonly Decoder[] _decoders;
    private readonly Dictionary<int, CodePage> _pages = [];
    private readonly byte[] _fetchBuffer = new byte[MaxInstructionLength];
    private CodePage? _fetchPage;
    private ulong _fetchLinearPage = ulong.MaxValue;
    private const int StraddlingEntries = 8;
    private const int RecentFetchPages = 16;

    private readonly RecentFetchPage[] _recentFetchPages = new RecentFetchPage[RecentFetchPages];

    private readonly StraddlingInstruction[] _straddling = new StraddlingInstruction[StraddlingEntries];
    private CachedInstruction _uncached;

    /// <summary>
    /// Bumped whenever the linear→physical mapping of code, the code segment or the privilege level may have changed
    /// (with <see cref="ResetFetchPage"/>): a chain link between blocks of two pages holds only within one epoch.
    /// </summary>
    private int _mappingEpoch;

    /// <summary>Forgets the page the fast fetch path points at (paging, mode or privilege changed).</summary>
    private void ResetFetchPage()
    {
        _fetchLinearPage = ulong.MaxValue;
        _mappingEpoch++;
    }

    /// <summary>
    /// The current block at RIP when RIP is on the page the last fetch was from and that page's code is unchanged
    /// (the fast path of <see cref="Fetch"/>, without decoding or counting), else null.
    /// </summary>
    private TranslatedBlock? BlockAtRipOnFetchPage()
    {
        ulong linear = CodeLinear(Rip);
        var page = _fetchPage;
        if ((linear >> 12) != _fetchLinearPage || page!.Generation != _code.Generation(page.PhysicalPage))
        {
            return null;
        }

        int index = page.Map[linear & 0xFFF];
        return index is not 0 and not CodePage.CrossesPageEnd && page.Items[index - 1].Block is { } block && block.EntryRip == Rip ? block : null;
    }

    private ref CachedInstruction Fetch()
    {
        ulong linear = CodeLinear(Rip);
        var page = _fetchPage;
        if ((linear >> 12) == _fetchLinearPage && page!.Generation == _code.Generation(page.PhysicalPage))
        {
            int index = page.Map[linear & 0xFFF];
            if (index != 0)
            {
                return ref index == CodePage.CrossesPageEnd ? ref DecodeUncached(linear) : ref page.Items[index - 1];
            }

            return ref DecodeInto(page, linear);
        }

        return ref SlowFetch(linear);
    }

    private ulong CodeLinear(ulong ip) => _bitness == 64 ? ip : (Seg[CS].Base + ip) & 0xFFFF_FFFF;

    private ref CachedInstruction SlowFetch(ulong linear)
    {
        // The page code last ran in on this linear page, if the mapping epoch still vouches for it: code hopping between
        // a few pages (calls, the kernel decompressor's loops) skips the TLB, the RAM-slot lookup and the page table.
        ref var recent = ref _recentFetchPages[(int)(linear >> 12) & (RecentFetchPages - 1)];
        if (recent.LinearPage == linear >> 12 && recent.MappingEpoch == _mappingEpoch && recent.Page is { } known
            && known.Bitness == _bitness && known.Generation == _code.Generation(known.PhysicalPage))
        {
            return ref FetchFrom(known, linear);
        }

        ulong physical = Translate(linear, AccessKind.Fetch);
        if (!_memory.TryTranslate(physical & ~0xFFFUL, CodePage.Size, out _))
        {
            throw new EmulationException($"Instruction fetch from guest-physical 0x{physical:X} (linear 0x{linear:X}), which is not RAM");
        }

        ulong pageNumber = physical >> 12;
        if (pageNumber >= (ulong)_code.PageCount)
        {
            return ref DecodeByteByByte(linear);
        }

        int pageIndex = (int)pageNumber;
        if (!_pages.TryGetValue(pageIndex, out var page))
        {
            page = new CodePage(pageIndex);
            _pages.Add(pageIndex, page);
            page.Clear(_bitness, _code.MarkCode(pageIndex));
        }
        else if (page.Bitness != _bitness || page.Generation != _code.Generation(pageIndex))
        {
            page.Clear(_bitness, _code.MarkCode(pageIndex));
        }

        recent = new RecentFetchPage(linear >> 12, _mappingEpoch, page);
        return ref FetchFrom(page, linear);
    }

    /// <summary>Makes <paramref name="page"/> the fetch page and fetches the instruction at <paramref name="linear"/> from it.</summary>
    private ref CachedInstruction FetchFrom(CodePage page, ulong linear)
    {
        _fetchPage = page;
        _fetchLinearPage = linear >> 12;
        int index = page.Map[linear & 0xFFF];
        return ref index == 0 ? ref DecodeInto(page, linear)
            : ref index == CodePage.CrossesPageEnd ? ref DecodeUncached(linear) : ref page.Items[index - 1];
    }

    private unsafe ref CachedInstruction DecodeInto(CodePage page, ulong linear)
    {
        int offset = (int)(linear & 0xFFF);
        if (!_memory.TryTranslate(((ulong)page.PhysicalPage << 12) + (ulong)offset, (ulong)(CodePage.Size - offset), out nint host))
        {
            throw new EmulationException($"Code page 0x{page.PhysicalPage:X} is no longer RAM");
        }

        // Safe: TryTranslate proved [host, host + (4096 - offset)) lies inside a mapped RAM slot.
        _reader.Reset((byte*)host, CodePage.Size - offset);
        var decoder = DecoderForMode();
        decoder.IP = Rip;
        decoder.Decode(out var instruction);
        if (instruction.IsInvalid && decoder.LastError == DecoderError.NoMoreBytes)
        {
            // The instruction crosses into the next page, which may map elsewhere: not cached in this page.
            page.Map[offset] = CodePage.CrossesPageEnd;
            return ref DecodeUncached(linear);
        }

        int index = page.Add(offset, instruction);
        ref var cached = ref page.Items[index];
        var shape = ShapeOf(instruction);
        cached.EndsBlock = shape.Op == BlockOp.None || shape.EndsBlock;
        return ref cached;
    }

    /// <summary>
    /// Decodes an instruction that is not cached in a page: one that crosses into the next page (which may map
    /// elsewhere), or one above the tracked pages. A crossing one is remembered in <see cref="_straddling"/> under both
    /// pages' physical frames and code generations, so a hot one (the kernel decompressor has one) is decoded once.
    /// </summary>
    private ref CachedInstruction DecodeUncached(ulong linear)
    {
        ulong second = CodeLinear(Rip + (ulong)(CodePage.Size - (int)(linear & 0xFFF)));
        ulong firstFrame = Translate(linear, AccessKind.Fetch) >> 12;
        ulong secondFrame = Translate(second, AccessKind.Fetch) >> 12;
        if (firstFrame >= (ulong)_code.PageCount || secondFrame >= (ulong)_code.PageCount)
        {
            return ref DecodeByteByByte(linear);
        }

        ref var entry = ref _straddling[(int)(linear >> 12) & (StraddlingEntries - 1)];
        if (entry.Rip == Rip && entry.Linear == linear && entry.Bitness == _bitness && entry.FirstFrame == firstFrame
            && entry.SecondFrame == secondFrame && entry.FirstGeneration == _code.Generation((int)firstFrame)
            && entry.SecondGeneration == _code.Generation((int)secondFrame))
        {
            _uncached = entry.Instruction;
            return ref _uncached;
        }

        // Marked (and their generations read) before the bytes are, so a write racing the decode is seen next time.
        int firstGeneration = _code.MarkCode((int)firstFrame);
        int secondGeneration = _code.MarkCode((int)secondFrame);
        ref var decoded = ref DecodeByteByByte(linear);
        entry = new StraddlingInstruction(Rip, linear, _bitness, firstFrame, secondFrame, firstGeneration, secondGeneration, decoded);
        return ref decoded;
    }

    private unsafe ref CachedInstruction DecodeByteByByte(ulong linear)
    {
        int count = 0;
        for (; count < MaxInstructionLength; count++)
        {
            ulong physical = Translate(CodeLinear(Rip + (ulong)count), AccessKind.Fetch);
            if (!_memory.TryTranslate(physical, 1, out nint host))
            {
                break;
            }

            // Safe: TryTranslate proved the byte is mapped RAM.
            _fetchBuffer[count] = *(byte*)host;
        }

        if (count == 0)
        {
            throw new EmulationException($"Instruction fetch at linear 0x{linear:X} is outside RAM");
        }

        fixed (byte* buffer = _fetchBuffer)
        {
            // Safe: the buffer is pinned for the decode and holds count valid bytes.
            _reader.Reset(buffer, count);
            var decoder = DecoderForMode();
            decoder.IP = Rip;
            decoder.Decode(out var instruction);
            _uncached = CachedInstruction.From(instruction);
            _uncached.EndsBlock = true; // blocks stop before an instruction not cached in a page
        }

        if (_uncached.Instruction.IsInvalid && count < MaxInstructionLength)
        {
            throw new EmulationException($"Instruction at linear 0x{linear:X} runs past the end of RAM");
        }

        return ref _uncached;
    }

    private Decoder DecoderForMode() => _decoders[_bitness == 16 ? 0 : _bitness == 32 ? 1 : 2];

    /// <summary>A decoded page-crossing instruction and what it was decoded from.</summary>
    private readonly record struct StraddlingInstruction(
        ulong Rip, ulong Linear, int Bitness, ulong FirstFrame, ulong SecondFrame, int FirstGeneration, int SecondGeneration, CachedInstruction Instruction);

    /// <summary>A linear code page, the decoded page it mapped to, and the code-mapping epoch that mapping holds in.</summary>
    private readonly record struct RecentFetchPage(ulong LinearPage, int MappingEpoch, CodePage? Page);
}
