using Iced.Intel;

namespace ActorVmm.Emulator.Cpu;

/// <summary>Decoded instructions of one guest-physical page, indexed by their offset in the page.</summary>
internal sealed class CodePage
{
    /// <summary>Bytes per page.</summary>
    public const int Size = 4096;

    /// <summary>A <see cref="Map"/> value: the instruction at that offset crosses the page end (it is decoded elsewhere).</summary>
    public const ushort CrossesPageEnd = ushort.MaxValue;

    /// <summary>1 + index into <see cref="Items"/> for each page offset, 0 when not decoded yet, or <see cref="CrossesPageEnd"/>.</summary>
    public readonly ushort[] Map = new ushort[Size];

    public CodePage(int physicalPage) => PhysicalPage = physicalPage;

    /// <summary>The guest-physical page number.</summary>
    public int PhysicalPage { get; }

    /// <summary>The decoded instructions.</summary>
    public CachedInstruction[] Items { get; private set; } = new CachedInstruction[32];

    /// <summary>Number of used entries in <see cref="Items"/>.</summary>
    public int Count { get; private set; }

    /// <summary>Decoder bitness the entries were decoded with.</summary>
    public int Bitness { get; set; }

    /// <summary>The tracker generation the entries are valid for.</summary>
    public int Generation { get; set; }

    /// <summary>Bumped by every <see cref="Clear"/>: a translated block of an older epoch is gone from this page.</summary>
    public int Epoch { get; private set; }

    /// <summary>Drops every entry.</summary>
    public void Clear(int bitness, int generation)
    {
        if (Count != 0)
        {
            Array.Clear(Map);
            Count = 0;
        }

        Bitness = bitness;
        Generation = generation;
        Epoch++;
    }

    /// <summary>Adds a decoded instruction at <paramref name="offset"/> and returns its index.</summary>
    public int Add(int offset, in Instruction instruction)
    {
        if (Count == Items.Length)
        {
            var bigger = new CachedInstruction[Items.Length * 2];
            Array.Copy(Items, bigger, Count);
            Items = bigger;
        }

        Items[Count] = CachedInstruction.From(instruction);
        Map[offset] = (ushort)(Count + 1);
        return Count++;
    }
}
