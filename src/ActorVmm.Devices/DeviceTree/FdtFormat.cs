namespace ActorVmm.Devices.DeviceTree;

/// <summary>
/// The flattened device tree (DTB) format, Devicetree Specification v0.4 chapter 5: a header of ten big-endian
/// 32-bit fields, the memory reservation block, the structure block of tokens and the strings block.
/// </summary>
public static class FdtFormat
{
    /// <summary>Header <c>magic</c>.</summary>
    public const uint Magic = 0xD00D_FEED;

    /// <summary>The version written (<c>version</c>): 17, the current one.</summary>
    public const uint Version = 17;

    /// <summary>The oldest version a reader of this blob must support (<c>last_comp_version</c>): 16.</summary>
    public const uint LastCompatibleVersion = 16;

    /// <summary>Header size in bytes: ten 32-bit fields.</summary>
    public const int HeaderSize = 40;

    /// <summary>Header field <c>magic</c>.</summary>
    public const int MagicOffset = 0;

    /// <summary>Header field <c>totalsize</c>: bytes in the whole blob.</summary>
    public const int TotalSizeOffset = 4;

    /// <summary>Header field <c>off_dt_struct</c>: the structure block's offset.</summary>
    public const int StructureOffsetOffset = 8;

    /// <summary>Header field <c>off_dt_strings</c>: the strings block's offset.</summary>
    public const int StringsOffsetOffset = 12;

    /// <summary>Header field <c>off_mem_rsvmap</c>: the memory reservation block's offset.</summary>
    public const int ReservationsOffsetOffset = 16;

    /// <summary>Header field <c>version</c>.</summary>
    public const int VersionOffset = 20;

    /// <summary>Header field <c>last_comp_version</c>.</summary>
    public const int LastCompatibleVersionOffset = 24;

    /// <summary>Header field <c>boot_cpuid_phys</c>: the boot CPU's <c>reg</c>.</summary>
    public const int BootCpuIdOffset = 28;

    /// <summary>Header field <c>size_dt_strings</c>.</summary>
    public const int StringsSizeOffset = 32;

    /// <summary>Header field <c>size_dt_struct</c>.</summary>
    public const int StructureSizeOffset = 36;

    /// <summary>Alignment of the memory reservation block (its entries are two 64-bit values).</summary>
    public const int ReservationAlignment = 8;

    /// <summary>Bytes per memory reservation entry: address and size, 64 bits each.</summary>
    public const int ReservationEntrySize = 16;

    /// <summary>Alignment of every token in the structure block (and of the block itself).</summary>
    public const int TokenAlignment = 4;

    /// <summary>FDT_BEGIN_NODE: a node starts; its NUL-terminated name follows, padded to 4 bytes.</summary>
    public const uint BeginNodeToken = 0x1;

    /// <summary>FDT_END_NODE: the node begun last ends.</summary>
    public const uint EndNodeToken = 0x2;

    /// <summary>FDT_PROP: a property: value length, name offset in the strings block, then the value padded to 4 bytes.</summary>
    public const uint PropToken = 0x3;

    /// <summary>FDT_NOP: ignored by readers.</summary>
    public const uint NopToken = 0x4;

    /// <summary>FDT_END: the end of the structure block.</summary>
    public const uint EndToken = 0x9;

    /// <summary>Longest node name (without the unit address) and property name, in characters.</summary>
    public const int MaxNameLength = 31;
}
