using System.Runtime.InteropServices;
using ActorVmm.Machine.Interop;

namespace ActorVmm.Machine.Boot.Linux;

// struct screen_info of <linux/screen_info.h>: the first 0x40 bytes of boot_params, where the boot loader tells the
// kernel about the console it left (text mode, or a VESA linear framebuffer for vesafb/simplefb). Compared with gcc's
// view of the header by the header check in tests/ActorVmm.Kvm.Tests/Interop.

/// <summary>struct screen_info (boot_params offset 0, 0x40 bytes, packed).</summary>
[CStruct]
[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal unsafe struct screen_info
{
    public byte orig_x;
    public byte orig_y;
    public ushort ext_mem_k;
    public ushort orig_video_page;
    public byte orig_video_mode;
    public byte orig_video_cols;
    public byte flags;
    public byte unused2;
    public ushort orig_video_ega_bx;
    public ushort unused3;
    public byte orig_video_lines;
    public byte orig_video_isVGA;
    public ushort orig_video_points;
    public ushort lfb_width;
    public ushort lfb_height;
    public ushort lfb_depth;
    public uint lfb_base;
    public uint lfb_size;
    public ushort cl_magic;
    public ushort cl_offset;
    public ushort lfb_linelength;
    public byte red_size;
    public byte red_pos;
    public byte green_size;
    public byte green_pos;
    public byte blue_size;
    public byte blue_pos;
    public byte rsvd_size;
    public byte rsvd_pos;
    public ushort vesapm_seg;
    public ushort vesapm_off;
    public ushort pages;
    public ushort vesa_attributes;
    public uint capabilities;
    public uint ext_lfb_base;
    public fixed byte _reserved[2];
}

/// <summary>The macros of <c>linux/screen_info.h</c> the loader uses.</summary>
[CConstants]
internal static class ScreenInfoConstants
{
    /// <summary>orig_video_isVGA: VESA VGA in graphic mode (a linear framebuffer; vesafb and sysfb take it).</summary>
    public const byte VIDEO_TYPE_VLFB = 0x23;

    /// <summary>capabilities: the framebuffer base has 64 bits (ext_lfb_base holds the high half).</summary>
    public const uint VIDEO_CAPABILITY_64BIT_BASE = 1u << 1;
}
