using System.Runtime.InteropServices;

namespace ActorVmm.Machine.Boot.Linux;

/// <summary>
/// What a Linux guest needs to know about a linear framebuffer the VMM set up (the <c>--vesa</c> device): where it is,
/// its geometry and its pixel layout. <see cref="WriteScreenInfo"/> turns it into <c>boot_params.screen_info</c> as a
/// VESA linear framebuffer, so vesafb (or sysfb's simplefb) drives it with no PCI driver.
/// </summary>
/// <param name="Base">Guest-physical address of the first pixel.</param>
/// <param name="Size">Bytes of framebuffer memory (the BAR size).</param>
/// <param name="Width">Pixels per row.</param>
/// <param name="Height">Rows.</param>
/// <param name="Stride">Bytes from one row to the next.</param>
/// <param name="Depth">Bits per pixel.</param>
/// <param name="Red">Red channel: (size in bits, lowest bit position).</param>
/// <param name="Green">Green channel.</param>
/// <param name="Blue">Blue channel.</param>
/// <param name="Reserved">The unused bits of a pixel.</param>
public sealed record LinearFramebufferInfo(
    ulong Base,
    ulong Size,
    int Width,
    int Height,
    int Stride,
    int Depth,
    (int Size, int Position) Red,
    (int Size, int Position) Green,
    (int Size, int Position) Blue,
    (int Size, int Position) Reserved)
{
    /// <summary>
    /// The unit of <c>lfb_size</c> for <c>VIDEO_TYPE_VLFB</c>: 64 KiB blocks, VBE's "total memory" (vesafb multiplies it by
    /// 65536, sysfb shifts it by 16; only EFI framebuffers count bytes).
    /// </summary>
    public const ulong LfbSizeUnit = 64 * 1024;

    /// <summary>Bytes of <c>struct screen_info</c> at the start of <c>boot_params</c>.</summary>
    public static int ScreenInfoSize => Marshal.SizeOf<screen_info>();

    /// <summary>
    /// Writes <c>struct screen_info</c> for this framebuffer into the first <see cref="ScreenInfoSize"/> bytes of
    /// <paramref name="bootParams"/> (the zero page; screen_info is at offset 0). A base above 4 GiB is split into
    /// <c>lfb_base</c> and <c>ext_lfb_base</c> with <c>VIDEO_CAPABILITY_64BIT_BASE</c>; <c>lfb_size</c> is in
    /// <see cref="LfbSizeUnit"/>s, rounded up.
    /// </summary>
    /// <exception cref="ArgumentException">The span is too short, or a value does not fit its field.</exception>
    public void WriteScreenInfo(Span<byte> bootParams)
    {
        if (bootParams.Length < ScreenInfoSize)
        {
            throw new ArgumentException($"boot_params needs at least {ScreenInfoSize} bytes for screen_info", nameof(bootParams));
        }

        if (Width is <= 0 or > ushort.MaxValue || Height is <= 0 or > ushort.MaxValue || Stride is <= 0 or > ushort.MaxValue
            || Depth is <= 0 or > ushort.MaxValue || Size is 0 or > uint.MaxValue)
        {
            throw new ArgumentException($"{this} does not fit screen_info's fields");
        }

        var info = new screen_info
        {
            orig_video_isVGA = ScreenInfoConstants.VIDEO_TYPE_VLFB,
            lfb_width = (ushort)Width,
            lfb_height = (ushort)Height,
            lfb_depth = (ushort)Depth,
            lfb_base = (uint)Base,
            lfb_size = (uint)((Size + LfbSizeUnit - 1) / LfbSizeUnit),
            lfb_linelength = (ushort)Stride,
            red_size = (byte)Red.Size,
            red_pos = (byte)Red.Position,
            green_size = (byte)Green.Size,
            green_pos = (byte)Green.Position,
            blue_size = (byte)Blue.Size,
            blue_pos = (byte)Blue.Position,
            rsvd_size = (byte)Reserved.Size,
            rsvd_pos = (byte)Reserved.Position,
            ext_lfb_base = (uint)(Base >> 32),
            capabilities = Base >> 32 != 0 ? ScreenInfoConstants.VIDEO_CAPABILITY_64BIT_BASE : 0,
        };
        MemoryMarshal.Write(bootParams, in info);
    }
}
