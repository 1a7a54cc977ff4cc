namespace ActorVmm.Devices.Framebuffer;

/// <summary>The framebuffer device's slow-path messages (sent to it by name through its VM's supervisor).</summary>
public static class FramebufferProtocol
{
    /// <summary>Asks for a copy of the visible frame; answered with <see cref="Frame"/>. The vCPUs keep running.</summary>
    public sealed record Capture
    {
        private Capture()
        {
        }

        /// <summary>The single instance.</summary>
        public static Capture Instance { get; } = new();
    }

    /// <summary>
    /// A copy of the visible frame as the guest left it at the moment of the copy: <see cref="Height"/> rows of
    /// <see cref="Width"/> little-endian <c>0x00RRGGBB</c> pixels, <see cref="Stride"/> bytes apart. The array is the
    /// receiver's (a fresh copy per capture).
    /// </summary>
    /// <param name="Width">Pixels per row.</param>
    /// <param name="Height">Rows.</param>
    /// <param name="Stride">Bytes from one row to the next.</param>
    /// <param name="Pixels">The rows, <see cref="Stride"/> × <see cref="Height"/> bytes.</param>
    public sealed record Frame(int Width, int Height, int Stride, byte[] Pixels)
    {
        /// <summary>The pixel at (<paramref name="x"/>, <paramref name="y"/>) as <c>0x00RRGGBB</c>.</summary>
        public uint PixelAt(int x, int y)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(x);
            ArgumentOutOfRangeException.ThrowIfNegative(y);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(x, Width);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(y, Height);
            return BitConverter.ToUInt32(Pixels, (y * Stride) + (x * FramebufferMode.BytesPerPixel)) & 0x00FF_FFFF;
        }
    }
}
