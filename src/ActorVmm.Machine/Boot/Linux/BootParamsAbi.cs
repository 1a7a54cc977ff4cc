using System.Runtime.InteropServices;
using ActorVmm.Machine.Interop;

namespace ActorVmm.Machine.Boot.Linux;

// The Linux/x86 boot ABI (Documentation/arch/x86/boot.rst and zero-page.rst), with the C names of
// <asm/bootparam.h>. Layouts and constants are compared with gcc's view of that header by the header check
// in tests/ActorVmm.Kvm.Tests/Interop, so no offset here is trusted on its own.

/// <summary>struct setup_header: the real-mode kernel header at offset 0x1F1 of a bzImage, also at 0x1F1 of boot_params.</summary>
[CStruct]
[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal struct setup_header
{
    public byte setup_sects;
    public ushort root_flags;
    public uint syssize;
    public ushort ram_size;
    public ushort vid_mode;
    public ushort root_dev;
    public ushort boot_flag;
    public ushort jump;
    public uint header;
    public ushort version;
    public uint realmode_swtch;
    public ushort start_sys_seg;
    public ushort kernel_version;
    public byte type_of_loader;
    public byte loadflags;
    public ushort setup_move_size;
    public uint code32_start;
    public uint ramdisk_image;
    public uint ramdisk_size;
    public uint bootsect_kludge;
    public ushort heap_end_ptr;
    public byte ext_loader_ver;
    public byte ext_loader_type;
    public uint cmd_line_ptr;
    public uint initrd_addr_max;
    public uint kernel_alignment;
    public byte relocatable_kernel;
    public byte min_alignment;
    public ushort xloadflags;
    public uint cmdline_size;
    public uint hardware_subarch;
    public ulong hardware_subarch_data;
    public uint payload_offset;
    public uint payload_length;
    public ulong setup_data;
    public ulong pref_address;
    public uint init_size;
    public uint handover_offset;
    public uint kernel_info_offset;
}

/// <summary>struct boot_e820_entry: one e820 memory-map entry in the zero page.</summary>
[CStruct]
[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal struct boot_e820_entry
{
    public ulong addr;
    public ulong size;
    public uint type;
}

/// <summary>
/// struct boot_params (the "zero page"), 4 KiB. Only the members this loader writes are declared; the rest stay
/// zero, as the 64-bit boot protocol asks ("allocated ... and initialized to all zero").
/// </summary>
[CStruct]
[StructLayout(LayoutKind.Explicit, Size = 4096)]
internal unsafe struct boot_params
{
    [FieldOffset(0x070)]
    public ulong acpi_rsdp_addr;

    [FieldOffset(0x0C0)]
    public uint ext_ramdisk_image;

    [FieldOffset(0x0C4)]
    public uint ext_ramdisk_size;

    [FieldOffset(0x0C8)]
    public uint ext_cmd_line_ptr;

    [FieldOffset(0x1E8)]
    public byte e820_entries;

    [FieldOffset(0x1EF)]
    public byte sentinel;

    [FieldOffset(0x1F1)]
    public setup_header hdr;

    [FieldOffset(0x290)]
    public fixed uint edd_mbr_sig_buffer[16];

    [FieldOffset(0x2D0)]
    public fixed byte e820_table[BootParamsConstants.E820_MAX_ENTRIES_ZEROPAGE * 20];
}

/// <summary>Macros of <c>asm/bootparam.h</c> and the old uapi <c>asm/e820.h</c> this loader relies on.</summary>
[CConstants]
internal static class BootParamsConstants
{
    /// <summary>loadflags bit 0: the protected-mode code is loaded at 0x100000 (a bzImage).</summary>
    public const byte LOADED_HIGH = 1 << 0;

    /// <summary>loadflags bit 7: heap_end_ptr is valid (only the 16-bit setup code uses it).</summary>
    public const byte CAN_USE_HEAP = 1 << 7;

    /// <summary>xloadflags bit 0: the kernel has the 64-bit entry point at load address + 0x200.</summary>
    public const ushort XLF_KERNEL_64 = 1 << 0;

    /// <summary>xloadflags bit 1: kernel, boot_params, command line and ramdisk may lie above 4 GiB.</summary>
    public const ushort XLF_CAN_BE_LOADED_ABOVE_4G = 1 << 1;

    /// <summary>Entries the zero page's e820_table holds.</summary>
    public const int E820_MAX_ENTRIES_ZEROPAGE = 128;

    /// <summary>e820 type: usable RAM.</summary>
    public const uint E820_RAM = 1;

    /// <summary>e820 type: reserved, not to be used as RAM.</summary>
    public const uint E820_RESERVED = 2;

    /// <summary>Offset of e820_table in the zero page.</summary>
    public const int E820MAP = 0x2D0;

    /// <summary>Offset of e820_entries in the zero page.</summary>
    public const int E820NR = 0x1E8;
}
