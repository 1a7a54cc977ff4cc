using System.Runtime.InteropServices;
using ActorVmm.Machine.Boot.Linux;
using ActorVmm.Machine.Layout;

namespace ActorVmm.Machine.Tests.Boot;

public sealed class LinearFramebufferInfoTests
{
    private const int ZeroPage = 4096;

    private static readonly LinearFramebufferInfo Vga640 = new(
        X86MemoryMap.FramebufferBase, 0x20_0000, 640, 480, 640 * 4, 32, (8, 16), (8, 8), (8, 0), (8, 24));

    [Fact]
    public void Screen_info_describes_a_VESA_linear_framebuffer_at_the_start_of_boot_params()
    {
        byte[] bootParams = new byte[ZeroPage];

        Vga640.WriteScreenInfo(bootParams);

        var info = MemoryMarshal.Read<screen_info>(bootParams);
        Assert.Equal(ScreenInfoConstants.VIDEO_TYPE_VLFB, info.orig_video_isVGA);
        Assert.Equal((640, 480, 32, 640 * 4), ((int)info.lfb_width, (int)info.lfb_height, (int)info.lfb_depth, (int)info.lfb_linelength));
        Assert.Equal((uint)X86MemoryMap.FramebufferBase, info.lfb_base);
        Assert.Equal(0x20_0000UL, info.lfb_size * LinearFramebufferInfo.LfbSizeUnit);
        Assert.Equal((8, 16, 8, 8, 8, 0, 8, 24), (info.red_size, info.red_pos, info.green_size, info.green_pos, info.blue_size, info.blue_pos, info.rsvd_size, info.rsvd_pos));
        Assert.Equal((0u, 0u), (info.ext_lfb_base, info.capabilities));
        Assert.All(bootParams[LinearFramebufferInfo.ScreenInfoSize..], b => Assert.Equal(0, b));
    }

    [Fact]
    public void The_size_is_counted_in_64_KiB_blocks_as_vesafb_reads_it_rounded_up()
    {
        byte[] bootParams = new byte[ZeroPage];

        (Vga640 with { Size = 0x1000 }).WriteScreenInfo(bootParams);

        Assert.Equal(1u, MemoryMarshal.Read<screen_info>(bootParams).lfb_size);
    }

    [Fact]
    public void A_framebuffer_above_4_GiB_sets_the_64_bit_base_capability()
    {
        byte[] bootParams = new byte[ZeroPage];
        const ulong High = 0x8_0000_0000UL + 0x4000_0000UL;

        (Vga640 with { Base = High }).WriteScreenInfo(bootParams);

        var info = MemoryMarshal.Read<screen_info>(bootParams);
        Assert.Equal(High, ((ulong)info.ext_lfb_base << 32) | info.lfb_base);
        Assert.Equal(ScreenInfoConstants.VIDEO_CAPABILITY_64BIT_BASE, info.capabilities);
    }

    [Fact]
    public void Values_that_do_not_fit_screen_info_or_a_short_buffer_are_refused()
    {
        Assert.Throws<ArgumentException>(() => Vga640.WriteScreenInfo(new byte[LinearFramebufferInfo.ScreenInfoSize - 1]));
        Assert.Throws<ArgumentException>(() => (Vga640 with { Width = 70000 }).WriteScreenInfo(new byte[ZeroPage]));
        Assert.Throws<ArgumentException>(() => (Vga640 with { Size = 1UL << 32 }).WriteScreenInfo(new byte[ZeroPage]));
    }
}
