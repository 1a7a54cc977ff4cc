using ActorVmm.Devices.Framebuffer;
using SkiaSharp;

namespace ActorVmm.Host.Display;

/// <summary>
/// Writes a framebuffer frame as a PNG file with SkiaSharp. The frame's little-endian <c>0x00RRGGBB</c> pixels are Skia's
/// BGRA layout once the unused byte is made opaque; the encoder is Skia's own.
/// </summary>
public static class PngScreenshot
{
    private const byte Opaque = 0xFF;
    private const int AlphaByte = 3;

    /// <summary>Encodes <paramref name="frame"/> as PNG bytes.</summary>
    /// <exception cref="ArgumentException">The frame's pixel array is shorter than its geometry says.</exception>
    /// <exception cref="InvalidOperationException">Skia could not encode it.</exception>
    public static byte[] Encode(FramebufferProtocol.Frame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        if (frame.Width <= 0 || frame.Height <= 0 || frame.Stride < frame.Width * FramebufferMode.BytesPerPixel || (long)frame.Stride * frame.Height > frame.Pixels.Length)
        {
            throw new ArgumentException($"a {frame.Width}x{frame.Height} frame with a {frame.Stride}-byte stride does not fit {frame.Pixels.Length} bytes", nameof(frame));
        }

        // The guest leaves the fourth byte of each pixel undefined (x8r8g8b8): a PNG of it is opaque.
        byte[] bgra = (byte[])frame.Pixels.Clone();
        for (int i = AlphaByte; i < bgra.Length; i += FramebufferMode.BytesPerPixel)
        {
            bgra[i] = Opaque;
        }

        var info = new SKImageInfo(frame.Width, frame.Height, SKColorType.Bgra8888, SKAlphaType.Opaque);
        using var bitmap = new SKBitmap();
        unsafe
        {
            // Safe: the array is pinned while the bitmap, which only reads it, is encoded; the geometry was checked above.
            fixed (byte* pixels = bgra)
            {
                if (!bitmap.InstallPixels(info, (nint)pixels, frame.Stride))
                {
                    throw new InvalidOperationException($"Skia refused a {frame.Width}x{frame.Height} frame");
                }

                using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100)
                    ?? throw new InvalidOperationException($"Skia could not encode a {frame.Width}x{frame.Height} frame as PNG");
                return data.ToArray();
            }
        }
    }

    /// <summary>Encodes <paramref name="frame"/> and writes it to <paramref name="path"/> (created or replaced).</summary>
    /// <exception cref="IOException">The file cannot be written (the message names the path and why).</exception>
    public static void Write(FramebufferProtocol.Frame frame, string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] png = Encode(frame);
        try
        {
            File.WriteAllBytes(path, png);
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or DirectoryNotFoundException or IOException)
        {
            throw new IOException($"cannot write the screenshot '{path}': {ex.Message}", ex);
        }
    }
}
