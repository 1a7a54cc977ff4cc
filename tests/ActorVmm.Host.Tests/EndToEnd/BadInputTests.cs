using ActorVmm.Host.Backends;
using ActorVmm.Host.Cli;
using ActorVmm.TestGuests;

namespace ActorVmm.Host.Tests.EndToEnd;

/// <summary>Each bad input gives one clear line on stderr, exit code 2, and starts nothing.</summary>
public sealed class BadInputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("actorvmm-bad-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string[], string> Cases => new()
    {
        { ["run", "--image", "/no/such/image.bin"], "image '/no/such/image.bin' does not exist" },
        { ["run", "-m", "12Q"], "invalid --mem: '12Q' has an unknown size unit 'Q'" },
        { ["run", "--cpus", "1000"], "invalid --cpus: 1000" },
        { ["run", "--backend", "bochs"], "unknown backend 'bochs'" },
        { ["run", "--kernel", "/no/such/bzImage"], "kernel '/no/such/bzImage' does not exist" },
        { ["run", "-k", "/no/such/bzImage", "--backend", "emulator"], "the emulator backend cannot boot Linux yet" },
        { ["run", "-i", "initrd"], "--initrd needs --kernel" },
        { ["run", "-p", "console=ttyS0"], "--params needs --kernel" },
        { ["run", "--console", "vga"], "unknown console 'vga'" },
        { ["run", "--no-such-option"], "Unrecognized command or argument '--no-such-option'" },
        { ["fleet", "--count", "0"], "invalid --count: 0" },
        { ["fleet", "--count", "2", "--mem", "1X"], "invalid --mem" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Bad_input_prints_one_line_and_exits_2_without_starting(string[] args, string message)
    {
        var (code, stdout, stderr) = await ActorVmmProcess.RunAsync(_dir, args);

        Assert.Equal(ExitCodes.Usage, code);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(message, line, StringComparison.Ordinal);
        Assert.StartsWith("actorvmm: ", line, StringComparison.Ordinal);
        Assert.Equal(string.Empty, stdout);
        Assert.False(Directory.Exists(Path.Combine(_dir, "actorvmm")), "no control socket directory may be created");
    }

    [Fact]
    public async Task Image_larger_than_memory_is_bad_input()
    {
        const int ImageSize = 200 * 1024;
        string image = Path.Combine(_dir, "big.bin");
        await File.WriteAllBytesAsync(image, new byte[ImageSize]);

        var (code, _, stderr) = await ActorVmmProcess.RunAsync(_dir, "run", "--image", image, "--mem", "128K");

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("larger than guest memory allows", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Linux_boot_inputs_that_cannot_boot_print_one_line_naming_the_limit_and_exit_2()
    {
        var spec = new TestBzImage.Spec();
        string kernel = Path.Combine(_dir, "bzImage");
        string truncated = Path.Combine(_dir, "truncated");
        string notKernel = Path.Combine(_dir, "not-a-kernel");
        string initrd = Path.Combine(_dir, "initrd");
        byte[] image = TestBzImage.Build(spec);
        await File.WriteAllBytesAsync(kernel, image);
        await File.WriteAllBytesAsync(truncated, image[..^16]);
        await File.WriteAllBytesAsync(notKernel, new byte[4096]);
        await File.WriteAllBytesAsync(initrd, new byte[24 * 1024 * 1024]);

        (string[] Args, string Message)[] cases =
        [
            (["run", "-k", notKernel], "is not a bzImage"),
            (["run", "-k", truncated], "is truncated"),
            (["run", "-k", kernel, "-i", initrd, "-m", "32M"], "the initrd (25165824 bytes) does not fit"),
            (["run", "-k", kernel, "-p", new string('p', (int)spec.CommandLineSize)], "(cmdline_size)"),
        ];
        foreach (var (args, message) in cases)
        {
            var (code, stdout, stderr) = await ActorVmmProcess.RunAsync(_dir, args);

            Assert.Equal(ExitCodes.Usage, code);
            string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("actorvmm: ", line, StringComparison.Ordinal);
            Assert.Contains(message, line, StringComparison.Ordinal);
            Assert.Equal(string.Empty, stdout);
        }
    }

    [Fact]
    public async Task Kvm_asked_for_where_there_is_none_is_bad_input()
    {
        // Point the probe at a node that does not exist, so the case is the same on KVM machines.
        var (code, _, stderr) = await ActorVmmProcess.RunAsync(
            _dir, new Dictionary<string, string> { [KvmProbe.DeviceVariable] = Path.Combine(_dir, "kvm") }, "run", "--backend", "kvm");

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("the kvm backend is not available", stderr, StringComparison.Ordinal);
    }
}
