using SkiaSharp;

namespace ActorVmm.KvmLane;

/// <summary>
/// The check of a Linux guest's <c>--screenshot-on-exit</c> PNG on the lane: the frame is not uniform, and fbcon drew
/// text in its default colours — VT palette colour 7 (light grey) on colour 0 (black), which is what kernel messages
/// on <c>console=tty0</c> look like on a true-colour framebuffer (vesafb). It does not read the text: a frame with a
/// few words of grey on black passes, a blank, single-colour or differently coloured frame fails.
/// </summary>
public static class ConsoleScreenshotCheck
{
    /// <summary>fbcon's default foreground: VT palette colour 7, 0xAA in each channel (<c>default_red/grn/blu[7]</c> in drivers/tty/vt/vt.c).</summary>
    public const uint TextColour = 0x00AA_AAAA;

    /// <summary>fbcon's default background: VT palette colour 0, black.</summary>
    public const uint BackgroundColour = 0x0000_0000;

    /// <summary>
    /// Fewest text-coloured pixels that count as text: about two 8×16 glyphs. Stray pixels of that exact grey stay far
    /// below it; one line of kernel log is thousands.
    /// </summary>
    public const int MinTextPixels = 64;

    /// <summary>The outcome: whether the frame shows console text, and one line saying what was counted.</summary>
    public sealed record Result(bool Passed, string Detail)
    {
        /// <summary>The lane's line: <c>SCREENSHOT PASS|FAIL detail</c>.</summary>
        public override string ToString() => $"SCREENSHOT {(Passed ? "PASS" : "FAIL")} {Detail}";
    }

    /// <summary>Decodes the PNG at <paramref name="path"/> and checks it.</summary>
    public static Result CheckFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            return new Result(false, $"{path}: no such file");
        }

        using var bitmap = SKBitmap.Decode(path);
        return bitmap is null ? new Result(false, $"{path}: not an image Skia can decode") : Check(bitmap);
    }

    /// <summary>Checks a decoded frame: more than one colour, black the most common, and at least <see cref="MinTextPixels"/> pixels of <see cref="TextColour"/>.</summary>
    public static Result Check(SKBitmap bitmap)
    {
        ArgumentNullException.ThrowIfNull(bitmap);
        var counts = new Dictionary<uint, int>();
        for (int y = 0; y < bitmap.Height; y++)
        {
            for (int x = 0; x < bitmap.Width; x++)
            {
                var pixel = bitmap.GetPixel(x, y);
                uint rgb = ((uint)pixel.Red << 16) | ((uint)pixel.Green << 8) | pixel.Blue;
                counts[rgb] = counts.GetValueOrDefault(rgb) + 1;
            }
        }

        int text = counts.GetValueOrDefault(TextColour);
        var (commonest, commonestCount) = counts.MaxBy(c => c.Value) is var top ? (top.Key, top.Value) : default;
        string detail = $"{bitmap.Width}x{bitmap.Height} colours={counts.Count} commonest=#{commonest:X6} ({commonestCount} px) text=#{TextColour:X6} ({text} px)";
        string? failure = counts.Count < 2 ? "the frame is uniform"
            : commonest != BackgroundColour ? $"the background is not fbcon's black #{BackgroundColour:X6}"
            : text < MinTextPixels ? $"fewer than {MinTextPixels} pixels of fbcon's text colour"
            : null;
        return new Result(failure is null, failure is null ? detail : $"{failure}: {detail}");
    }
}
