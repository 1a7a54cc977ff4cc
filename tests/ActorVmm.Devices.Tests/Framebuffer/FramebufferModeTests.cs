using ActorVmm.Devices.Framebuffer;
using ActorVmm.Machine.Layout;

namespace ActorVmm.Devices.Tests.Framebuffer;

public sealed class FramebufferModeTests
{
    private const ulong Window = X86MemoryMap.FramebufferSize;

    [Theory]
    [InlineData("640x480", 640, 480, 0x20_0000UL)]
    [InlineData("1024X768", 1024, 768, 0x40_0000UL)]
    [InlineData(" 2560x1600 ", 2560, 1600, 0x100_0000UL)]
    [InlineData("1x1", 1, 1, FramebufferMode.MinBarSize)]
    public void A_mode_that_fits_the_window_parses_with_a_power_of_two_BAR(string text, int width, int height, ulong barSize)
    {
        var mode = FramebufferMode.Parse(text, Window);

        Assert.Equal((width, height), (mode.Width, mode.Height));
        Assert.Equal(barSize, mode.BarSize);
        Assert.Equal((ulong)width * (ulong)height * FramebufferMode.BytesPerPixel, mode.FrameBytes);
        Assert.Equal(width * FramebufferMode.BytesPerPixel, mode.Stride);
    }

    [Theory]
    [InlineData("640")]
    [InlineData("640x")]
    [InlineData("x480")]
    [InlineData("640x480x32")]
    [InlineData("-640x480")]
    [InlineData("640 x 480")]
    [InlineData("0x10")]
    [InlineData("abcxdef")]
    [InlineData("99999999999x1")]
    public void Text_that_is_not_two_positive_numbers_is_refused_with_the_expected_form(string text)
    {
        var error = Assert.Throws<FormatException>(() => FramebufferMode.Parse(text, Window));

        Assert.True(error.Message.Contains("WIDTHxHEIGHT", StringComparison.Ordinal) || error.Message.Contains("no pixels", StringComparison.Ordinal), error.Message);
    }

    [Theory]
    [InlineData("4096x4096")]
    [InlineData("2048x2049")]
    [InlineData("46341x46341")]
    [InlineData("2147483647x2147483647")]
    public void A_mode_larger_than_the_window_is_refused_naming_the_window(string text)
    {
        var error = Assert.Throws<FormatException>(() => FramebufferMode.Parse(text, Window));

        Assert.Contains($"0x{Window:X}-byte framebuffer window", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_default_is_kvmtool_s_640x480_at_32_bpp() =>
        Assert.Equal("640x480x32", FramebufferMode.Default.ToString());

    [Fact]
    public void The_boot_info_is_the_mode_s_geometry_and_x8r8g8b8_layout_at_the_frame_address()
    {
        var mode = FramebufferMode.Parse("800x600", Window);

        var info = mode.BootInfo(X86MemoryMap.FramebufferBase);

        Assert.Equal((X86MemoryMap.FramebufferBase, mode.BarSize, 800, 600, mode.Stride, FramebufferMode.BitsPerPixel), (info.Base, info.Size, info.Width, info.Height, info.Stride, info.Depth));
        Assert.Equal((FramebufferMode.ColourBits, FramebufferMode.RedShift), info.Red);
        Assert.Equal((FramebufferMode.ColourBits, FramebufferMode.GreenShift), info.Green);
        Assert.Equal((FramebufferMode.ColourBits, FramebufferMode.BlueShift), info.Blue);
        Assert.Equal((FramebufferMode.ColourBits, FramebufferMode.ReservedShift), info.Reserved);
    }
}
