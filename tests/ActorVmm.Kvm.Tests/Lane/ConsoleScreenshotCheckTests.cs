using ActorVmm.KvmLane;
using SkiaSharp;

namespace ActorVmm.Kvm.Tests.Lane;

/// <summary>
/// The lane's check of a Linux guest's fbcon screenshot: a real one passes (Debian 6.1's vesafb + fbcon, captured from
/// QEMU's std VGA with <c>vga=0x312 console=tty0</c>: kernel log lines in #AAAAAA on black), and frames without console
/// text — blank, uniform, text in another colour, grey on another background — fail, as does a file that is not a PNG.
/// </summary>
public sealed class ConsoleScreenshotCheckTests : IDisposable
{
    private const int Width = 320;
    private const int Height = 200;
    private static readonly string RealFbcon = Path.Combine(AppContext.BaseDirectory, "Lane", "Fixtures", "fbcon-vesafb-debian-6.1.png");

    private readonly string _dir = Directory.CreateTempSubdirectory("actorvmm-shot-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_real_fbcon_screenshot_of_kernel_messages_passes()
    {
        var result = ConsoleScreenshotCheck.CheckFile(RealFbcon);

        Assert.True(result.Passed, result.ToString());
        Assert.StartsWith("SCREENSHOT PASS 640x480", result.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_few_glyphs_of_grey_on_black_pass()
    {
        using var bitmap = Frame(ConsoleScreenshotCheck.BackgroundColour, ConsoleScreenshotCheck.TextColour, glyphPixels: ConsoleScreenshotCheck.MinTextPixels);

        Assert.True(ConsoleScreenshotCheck.Check(bitmap).Passed);
    }

    [Theory]
    [InlineData(ConsoleScreenshotCheck.BackgroundColour, ConsoleScreenshotCheck.BackgroundColour, 1000, "uniform")]
    [InlineData(ConsoleScreenshotCheck.TextColour, ConsoleScreenshotCheck.TextColour, 0, "uniform")]
    [InlineData(ConsoleScreenshotCheck.BackgroundColour, 0x00FF_FFFFu, 1000, "text colour")]
    [InlineData(0x0000_00AAu, ConsoleScreenshotCheck.TextColour, 1000, "background")]
    [InlineData(ConsoleScreenshotCheck.BackgroundColour, ConsoleScreenshotCheck.TextColour, ConsoleScreenshotCheck.MinTextPixels - 1, "text colour")]
    public void A_frame_without_fbcon_text_fails_and_says_why(uint background, uint ink, int glyphPixels, string reason)
    {
        using var bitmap = Frame(background, ink, glyphPixels);

        var result = ConsoleScreenshotCheck.Check(bitmap);

        Assert.False(result.Passed);
        Assert.Contains(reason, result.Detail, StringComparison.Ordinal);
        Assert.StartsWith("SCREENSHOT FAIL", result.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_or_one_that_is_not_an_image_fails()
    {
        string notPng = Path.Combine(_dir, "not.png");
        File.WriteAllText(notPng, "not an image");

        Assert.False(ConsoleScreenshotCheck.CheckFile(Path.Combine(_dir, "missing.png")).Passed);
        Assert.Contains("not an image", ConsoleScreenshotCheck.CheckFile(notPng).Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_synthetic_frame_round_trips_through_PNG_to_the_same_verdict()
    {
        using var bitmap = Frame(ConsoleScreenshotCheck.BackgroundColour, ConsoleScreenshotCheck.TextColour, glyphPixels: 500);
        string png = Path.Combine(_dir, "console.png");
        using (var data = bitmap.Encode(SKEncodedImageFormat.Png, 100))
        {
            File.WriteAllBytes(png, data.ToArray());
        }

        Assert.True(ConsoleScreenshotCheck.CheckFile(png).Passed);
    }

    /// <summary>A frame of <paramref name="background"/> with <paramref name="glyphPixels"/> pixels of <paramref name="ink"/> along its first rows.</summary>
    private static SKBitmap Frame(uint background, uint ink, int glyphPixels)
    {
        var bitmap = new SKBitmap(new SKImageInfo(Width, Height, SKColorType.Bgra8888, SKAlphaType.Opaque));
        bitmap.Erase(Colour(background));
        for (int i = 0; i < glyphPixels; i++)
        {
            bitmap.SetPixel(i % Width, i / Width, Colour(ink));
        }

        return bitmap;
    }

    private static SKColor Colour(uint rgb) => new((byte)(rgb >> 16), (byte)(rgb >> 8), (byte)rgb);
}
