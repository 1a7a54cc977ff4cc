using ActorVmm.Host.Cli;
using ActorVmm.Machine.Layout;
using ActorVmm.TestGuests;
using SkiaSharp;

namespace ActorVmm.Host.Tests.EndToEnd;

/// <summary>
/// <c>actorvmm run --vesa</c> with a guest that finds the framebuffer on PCI bus 0 and draws known rectangles where its
/// BAR decodes (where power-on put it, or where the guest moved it): the PNG written by <c>--screenshot-on-exit</c> or by
/// <c>actorvmm screenshot</c> has exactly those pixels. The emulator always; KVM where /dev/kvm opens.
/// </summary>
public sealed class FramebufferTests : IDisposable
{
    private const int Width = 320;
    private const int Height = 200;
    private const uint Background = 0x0010_2030;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    /// <summary>Where the moving guest puts the BAR: the 32-bit PCI window, away from the framebuffer window power-on uses.</summary>
    private static readonly ulong MovedBar = X86MemoryMap.PciMmioBase + (16UL << 20);

    private static readonly FramebufferGuest.Rectangle[] Rectangles =
    [
        new(10, 10, 100, 50, 0x00FF_0000),
        new(150, 20, 60, 120, 0x0000_FF00),
        new(40, 120, 200, 40, 0x0000_00FF),
        new(300, 180, 20, 20, 0x00FF_FF00),
    ];

    private readonly string _dir = Directory.CreateTempSubdirectory("actorvmm-fb-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public Task The_screenshot_on_exit_has_the_rectangles_the_guest_drew_on_the_emulator() => AssertScreenshotOnExit("emulator");

    [HostKvmFact]
    public Task The_screenshot_on_exit_has_the_rectangles_the_guest_drew_on_kvm() => AssertScreenshotOnExit("kvm");

    [Fact]
    public Task A_guest_that_moves_the_BAR_draws_at_the_new_address_and_the_screenshot_shows_it_on_the_emulator() => AssertScreenshotOnExit("emulator", MovedBar);

    [HostKvmFact]
    public Task A_guest_that_moves_the_BAR_draws_at_the_new_address_and_the_screenshot_shows_it_on_kvm() => AssertScreenshotOnExit("kvm", MovedBar);

    [Fact]
    public async Task Actorvmm_screenshot_reads_the_frame_of_a_running_vm_without_stopping_it()
    {
        string image = await WriteGuest(haltWhenDrawn: true);
        string png = Path.Combine(_dir, "live.png");
        using var host = ActorVmmProcess.Start(_dir, "run", "--image", image, "--mem", "16M", "--backend", "emulator", "--name", "fb-live", "--vesa", $"{Width}x{Height}", "--console", "serial");
        await WaitForOutput(host, FramebufferGuest.DrawnMarker.TrimEnd());

        var (code, stdout, stderr) = await ActorVmmProcess.RunAsync(_dir, "screenshot", "fb-live", png);

        Assert.True(code == ExitCodes.Success, $"screenshot exited {code}: {stderr}");
        Assert.Contains($"fb-live: screenshot written to {png}", stdout, StringComparison.Ordinal);
        AssertPixels(png);
        Assert.Contains("running", (await ActorVmmProcess.RunAsync(_dir, "stat", "fb-live")).Stdout, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Success, (await ActorVmmProcess.RunAsync(_dir, "stop", "fb-live")).ExitCode);
        Assert.Equal(ExitCodes.Success, await host.WaitForExitAsync(Wait));
    }

    [Fact]
    public async Task A_screenshot_of_a_vm_without_a_framebuffer_fails_clearly_and_writes_nothing()
    {
        string image = Path.Combine(_dir, "spin.bin");
        await File.WriteAllBytesAsync(image, TestImages.HostGuests.Spinner());
        string png = Path.Combine(_dir, "none.png");
        using var host = ActorVmmProcess.Start(_dir, "run", "--image", image, "--mem", "1M", "--backend", "emulator", "--name", "no-fb", "--console", "none");
        await ControlSocketTests.WaitForVmAsync(_dir, "no-fb");

        var (code, _, stderr) = await ActorVmmProcess.RunAsync(_dir, "screenshot", "no-fb", png);

        Assert.Equal(ExitCodes.Unavailable, code);
        Assert.Contains("VM 'no-fb' has no framebuffer (start it with --vesa)", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(png));
        await ActorVmmProcess.RunAsync(_dir, "stop", "no-fb");
        await host.WaitForExitAsync(Wait);
    }

    [Theory]
    [InlineData("640", "invalid --vesa: '640' is not WIDTHxHEIGHT")]
    [InlineData("0x480", "invalid --vesa: 0x480 has no pixels")]
    [InlineData("4096x4096", "framebuffer window of the memory map")]
    public async Task A_bad_vesa_size_is_one_clear_line_and_exit_2(string vesa, string message)
    {
        string image = await WriteGuest(haltWhenDrawn: false);

        var (code, stdout, stderr) = await ActorVmmProcess.RunAsync(_dir, "run", "--image", image, "--mem", "16M", "--backend", "emulator", "--vesa", vesa);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains(message, Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
        Assert.Equal(string.Empty, stdout);
    }

    [Fact]
    public async Task An_unwritable_screenshot_path_is_refused_before_the_vm_starts()
    {
        string image = await WriteGuest(haltWhenDrawn: false);
        string png = Path.Combine(_dir, "missing-dir", "shot.png");

        var (code, _, stderr) = await ActorVmmProcess.RunAsync(_dir, "run", "--image", image, "--mem", "16M", "--backend", "emulator", "--vesa", "--screenshot-on-exit", png);
        var (shotCode, _, shotError) = await ActorVmmProcess.RunAsync(_dir, "screenshot", "anyone", png);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains($"--screenshot-on-exit '{png}': directory", stderr, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Usage, shotCode);
        Assert.Contains("does not exist", shotError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Screenshot_on_exit_without_a_framebuffer_is_refused()
    {
        string image = await WriteGuest(haltWhenDrawn: false);

        var (code, _, stderr) = await ActorVmmProcess.RunAsync(_dir, "run", "--image", image, "--mem", "16M", "--backend", "emulator", "--screenshot-on-exit", Path.Combine(_dir, "x.png"));

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--screenshot-on-exit needs a framebuffer: add --vesa", stderr, StringComparison.Ordinal);
    }

    private async Task AssertScreenshotOnExit(string backend, ulong? moveBarTo = null)
    {
        string image = await WriteGuest(haltWhenDrawn: false, moveBarTo);
        string png = Path.Combine(_dir, $"exit-{backend}{(moveBarTo is null ? string.Empty : "-moved")}.png");

        var (code, stdout, stderr) = await ActorVmmProcess.RunAsync(_dir, "run", "--image", image, "--mem", "16M", "--backend", backend, "--vesa", $"{Width}x{Height}", "--screenshot-on-exit", png);

        Assert.True(code == ExitCodes.Success, $"exit {code}: {stderr}");
        Assert.Equal(FramebufferGuest.DrawnMarker, stdout);
        AssertPixels(png);
    }

    private static void AssertPixels(string png)
    {
        using var bitmap = SKBitmap.Decode(png) ?? throw new InvalidDataException($"{png} is not an image Skia can decode");
        Assert.Equal((Width, Height), (bitmap.Width, bitmap.Height));
        var wrong = new List<string>();
        for (int y = 0; y < Height; y++)
        {
            for (int x = 0; x < Width; x++)
            {
                uint expected = Expected(x, y);
                var pixel = bitmap.GetPixel(x, y);
                uint actual = ((uint)pixel.Red << 16) | ((uint)pixel.Green << 8) | pixel.Blue;
                if (actual != expected || pixel.Alpha != byte.MaxValue)
                {
                    wrong.Add($"({x},{y}) {actual:X6}/{pixel.Alpha:X2} not {expected:X6}");
                }
            }
        }

        Assert.True(wrong.Count == 0, $"{wrong.Count} wrong pixels, first: {string.Join("; ", wrong.Take(5))}");
    }

    /// <summary>The colour at (x, y): the last rectangle drawn over it, else the background.</summary>
    private static uint Expected(int x, int y) =>
        Rectangles.LastOrDefault(r => x >= r.X && x < r.X + r.Width && y >= r.Y && y < r.Y + r.Height)?.Colour ?? Background;

    private static async Task WaitForOutput(ActorVmmProcess host, string text)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!host.Stdout.Contains(text, StringComparison.Ordinal))
        {
            Assert.False(host.HasExited, $"the host exited before the guest drew: {host.Stderr}");
            Assert.True(DateTime.UtcNow < deadline, $"the guest did not report '{text}' within {Wait.TotalSeconds} s: {host.Stderr}");
            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }
    }

    private async Task<string> WriteGuest(bool haltWhenDrawn, ulong? moveBarTo = null)
    {
        string path = Path.Combine(_dir, $"fb{(haltWhenDrawn ? "-halt" : string.Empty)}{(moveBarTo is null ? string.Empty : "-moved")}.bin");
        await File.WriteAllBytesAsync(path, FramebufferGuest.Build(Width, Height, Background, Rectangles, haltWhenDrawn, moveBarTo));
        return path;
    }
}
