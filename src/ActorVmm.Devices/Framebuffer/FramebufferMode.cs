using System.Globalization;
using ActorVmm.Machine.Boot.Linux;
using ActorVmm.Machine.Layout;

namespace ActorVmm.Devices.Framebuffer;

/// <summary>
/// The framebuffer's geometry: <see cref="Width"/> × <see cref="Height"/> pixels of 32 bits, rows <see cref="Stride"/>
/// bytes apart, each pixel a little-endian <c>0x00RRGGBB</c> (bytes B, G, R, X: what vesafb/simplefb call
/// <c>x8r8g8b8</c>). The memory BAR is the frame rounded up to a power of two (a BAR's size is one), which must fit the
/// framebuffer window the memory map reserves (<see cref="X86MemoryMap.FramebufferSize"/>).
/// </summary>
/// <param name="Width">Pixels per row.</param>
/// <param name="Height">Rows.</param>
public sealed record FramebufferMode(int Width, int Height)
{
    /// <summary>Bits per pixel (the only depth offered).</summary>
    public const int BitsPerPixel = 32;

    /// <summary>Bytes per pixel.</summary>
    public const int BytesPerPixel = BitsPerPixel / 8;

    /// <summary>Bit position of red in a pixel (bits 23:16).</summary>
    public const int RedShift = 16;

    /// <summary>Bit position of green in a pixel (bits 15:8).</summary>
    public const int GreenShift = 8;

    /// <summary>Bit position of blue in a pixel (bits 7:0).</summary>
    public const int BlueShift = 0;

    /// <summary>Bit position of the unused byte (bits 31:24).</summary>
    public const int ReservedShift = 24;

    /// <summary>Bits of each colour.</summary>
    public const int ColourBits = 8;

    /// <summary>Smallest BAR: one page, so the frame is mapped as whole pages of RAM.</summary>
    public const ulong MinBarSize = 4096;

    /// <summary>kvmtool's default VESA mode (640×480).</summary>
    public static FramebufferMode Default { get; } = new(640, 480);

    /// <summary>Bytes from one row to the next (rows are packed).</summary>
    public int Stride => Width * BytesPerPixel;

    /// <summary>Bytes the visible frame takes.</summary>
    public ulong FrameBytes => (ulong)Stride * (ulong)Height;

    /// <summary>The memory BAR (and device RAM) size: <see cref="FrameBytes"/> rounded up to a power of two, at least a page.</summary>
    public ulong BarSize => Math.Max(MinBarSize, System.Numerics.BitOperations.RoundUpToPowerOf2(FrameBytes));

    /// <summary>Parses <c>WxH</c> ("1024x768") and checks it against a window of <paramref name="windowSize"/> bytes.</summary>
    /// <exception cref="FormatException">The text is not two positive whole numbers joined by 'x', or the mode does not fit the window (the message says why).</exception>
    public static FramebufferMode Parse(string text, ulong windowSize)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] parts = text.Trim().Split('x', 'X');
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int width)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int height))
        {
            throw new FormatException($"'{text}' is not WIDTHxHEIGHT (e.g. 1024x768)");
        }

        var mode = new FramebufferMode(width, height);
        mode.Validate(windowSize);
        return mode;
    }

    /// <summary>Throws <see cref="FormatException"/> when the mode is empty or its BAR does not fit a window of <paramref name="windowSize"/> bytes.</summary>
    public void Validate(ulong windowSize)
    {
        if (Width <= 0 || Height <= 0)
        {
            throw new FormatException($"{Width}x{Height} has no pixels: width and height must be at least 1");
        }

        // Checked in 64 bits before anything is rounded: 46341 x 46341 would overflow a 32-bit product.
        ulong frame = (ulong)Width * (ulong)Height * BytesPerPixel;
        if (frame > windowSize || BarSize > windowSize)
        {
            throw new FormatException(
                $"{Width}x{Height} at {BitsPerPixel} bpp needs a 0x{Math.Max(frame, MinBarSize):X}-byte frame in a power-of-two BAR, more than the 0x{windowSize:X}-byte framebuffer window of the memory map");
        }
    }

    /// <summary>What a Linux guest is told about this mode with the frame at <paramref name="frameBase"/> (<c>boot_params.screen_info</c>).</summary>
    public LinearFramebufferInfo BootInfo(ulong frameBase) =>
        new(frameBase, BarSize, Width, Height, Stride, BitsPerPixel, (ColourBits, RedShift), (ColourBits, GreenShift), (ColourBits, BlueShift), (ColourBits, ReservedShift));

    /// <inheritdoc />
    public override string ToString() => $"{Width}x{Height}x{BitsPerPixel}";
}
