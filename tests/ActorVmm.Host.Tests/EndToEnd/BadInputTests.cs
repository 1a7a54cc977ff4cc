using ActorVmm.Host.Backends;
using ActorVmm.Host.Cli;
using ActorVmm.TestGuests;

namespace ActorVmm.Host.Tests.EndToEnd;

/// <summary>Each bad input gives one clear line on stderr, exit code 2, and starts nothing.</summary>
public sealed class BadInputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("actorvmm-bad-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int mkfifo(string path, uint mode);

    public static TheoryData<string[], string> Cases => new()
    {
        { ["run", "--image", "/no/such/image.bin"], "image '/no/such/image.bin' does not exist" },
        { ["run", "-m", "12Q"], "invalid --mem: '12Q' has an unknown size unit 'Q'" },
        { ["run", "--cpus", "1000"], "invalid --cpus: 1000" },
        { ["run", "--backend", "bochs"], "unknown backend 'bochs'" },
        { ["run", "--kernel", "/no/such/bzImage"], "kernel '/no/such/bzImage' does not exist" },
        { ["run", "-k", "/no/such/bzImage", "--backend", "emulator"], "the emulator backend boots Linux only experimentally so far" },
        { ["run", "-i", "initrd"], "--initrd needs --kernel" },
        { ["run", "-p", "console=ttyS0"], "--params needs --kernel" },
        { ["run", "--console", "vga"], "unknown console 'vga'" },
        { ["run", "--vfio-pci", "00:1f"], "invalid --vfio-pci: '00:1f' is not a PCI address" },
        { ["run", "--backend", "emulator", "--vfio-pci", "0000:00:03.0"], "--vfio-pci needs the KVM backend" },
        { ["run", "--no-such-option"], "Unrecognized command or argument '--no-such-option'" },
        { ["fleet", "--count", "0"], "invalid --count: 0" },
        { ["fleet", "--count", "2", "--mem", "1X"], "invalid --mem" },
        { ["run", "-m", "200T"], "invalid --mem: 200T is more than the 1T of RAM" },
        { ["run", "-m", "2T"], "invalid --mem: 2T is more than the 1T of RAM" },
        { ["fleet", "--count", "1", "-m", "200T"], "invalid --mem: 200T is more than" },
        { ["run", "--image", "/dev/zero"], "image '/dev/zero' is a character device, not a regular file" },
        { ["run", "--image", ""], "image path is empty" },
        { ["run", "--console-log", ""], "--console-log path is empty" },
        { ["run", "--log-file", ""], "--log-file path is empty" },
        { ["run", "--console-log", "/proc/actorvmm-no-such-file"], "--console-log '/proc/actorvmm-no-such-file' cannot be written" },
        { ["run", "--log-file", "/proc/actorvmm-no-such-file"], "--log-file '/proc/actorvmm-no-such-file' cannot be written" },
        { ["run", "--log-file", "/proc/version"], "--log-file '/proc/version' is a kernel interface" },
        { ["run", "--console-log", "/proc/version"], "--console-log '/proc/version' is a kernel interface" },
        { ["run", "--config", "/dev/zero"], "config file '/dev/zero' is a character device, not a regular file" },
        { ["run", "--config", "/proc"], "config file '/proc' is a directory, not a file" },
        { ["run", "--config", ""], "config file path is empty" },
        { ["fleet", "--count", "1", "--config", "/proc"], "config file '/proc' is a directory, not a file" },
        { ["fleet", "--count", "1", "--console-dir", ""], "--console-dir path is empty" },
        { ["fleet", "--count", "1", "--console-dir", "/proc/actorvmm-no-such-dir"], "--console-dir '/proc/actorvmm-no-such-dir' cannot be created" },
        { ["fleet", "--count", "1", "--console-dir", "/proc"], "--console-dir '/proc' is not writable" },
        { ["fleet", "--count", "1", "--log-file", "/proc/actorvmm-no-such-file"], "--log-file '/proc/actorvmm-no-such-file' cannot be written" },
        { ["fleet", "--count", "1", "--name-prefix", "a/b"], "invalid --name-prefix 'a/b'" },
        { ["node", "--seed", "nohost"], "invalid --seed: 'nohost' is not HOST:PORT" },
        { ["node", "--seed", "127.0.0.1:70000"], "invalid --seed: '127.0.0.1:70000' has no valid port" },
        { ["node", "--seed", "127.0.0.1:4053", "--capacity-vcpus", "0"], "invalid --capacity-vcpus: 0" },
        { ["node", "--seed", "127.0.0.1:4053", "--capacity-mem", "1X"], "invalid --capacity-mem" },
        { ["node", "--seed", "127.0.0.1:4053", "--bind", "0.0.0.0"], "is not an address other nodes can reach" },
        { ["node", "--seed", "127.0.0.1:4053", "--cluster-name", "a b"], "invalid --cluster-name 'a b'" },
        { ["list", "--cluster", "127.0.0.1:0"], "invalid --cluster: '127.0.0.1:0' has no valid port" },
        { ["list", "--cluster-name", "other"], "--cluster-name and --config apply only with --cluster HOST:PORT" },
        { ["stop", "vm1", "--cluster", ""], "invalid --cluster: no HOST:PORT given" },
        { ["create", "vm1", "--image", "/no/such/image.bin"], "create needs --cluster HOST:PORT" },
        { ["create", "a/b", "--image", "/no/such/image.bin", "--cluster", "127.0.0.1:4053"], "'a/b' is not a valid VM name" },
        { ["nodes"], "nodes needs --cluster HOST:PORT" },
        { ["create", "vm1", "--image", "", "--cluster", "127.0.0.1:4053"], "--image path is empty" },
        { ["fleet", "--count", "2", "--hold", "--cluster", "127.0.0.1:4053"], "--backend, --hold, --hold-for and --log-file apply only without --cluster" },
        { ["fleet", "--count", "2", "--name-prefix", "a/b", "--cluster", "127.0.0.1:4053"], "'a/b0000' is not a valid VM name" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public Task Bad_input_prints_one_line_and_exits_2_without_starting(string[] args, string message) =>
        AssertBadInputAsync(args, message);

    private async Task AssertBadInputAsync(string[] args, string message)
    {
        var (code, stdout, stderr) = await ActorVmmProcess.RunAsync(_dir, args);

        Assert.True(code == ExitCodes.Usage, $"exit {code}; stderr: {stderr}");
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(message, line, StringComparison.Ordinal);
        Assert.StartsWith("actorvmm: ", line, StringComparison.Ordinal);
        Assert.Equal(string.Empty, stdout);
        Assert.False(Directory.Exists(Path.Combine(_dir, "actorvmm")), "no control socket directory may be created");
    }

    [Fact]
    public async Task A_fifo_as_image_is_refused_without_waiting_for_a_writer()
    {
        string fifo = Path.Combine(_dir, "image.fifo");
        Assert.Equal(0, mkfifo(fifo, 0x180));

        await AssertBadInputAsync(["run", "--image", fifo, "--mem", "1M"], $"image '{fifo}' is a FIFO, not a regular file");
    }

    [Fact]
    public async Task A_sparse_image_larger_than_memory_is_refused_before_it_is_read()
    {
        // 1.5 GB of holes costs no disk, but reading it needs 1.5 GB of memory: with the GC heap
        // capped at 512 MiB a host that reads before checking the size runs out of memory.
        const long SparseSize = 1536L * 1024 * 1024;
        string image = Path.Combine(_dir, "sparse.img");
        using (var file = new FileStream(image, FileMode.Create))
        {
            file.SetLength(SparseSize);
        }

        var environment = new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0x20000000" };
        var (code, stdout, stderr) = await ActorVmmProcess.RunAsync(_dir, environment, "run", "--image", image, "--mem", "1M");

        Assert.True(code == ExitCodes.Usage, $"exit {code}; stderr: {stderr}");
        Assert.Contains($"({SparseSize} bytes) is larger than guest memory allows", Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
        Assert.Equal(string.Empty, stdout);
    }

    [Theory]
    // The shipped scheduler keeps no tick; Akka's own wheel, chosen here, does and refuses a negative one.
    [InlineData("akka.scheduler.implementation = \"Akka.Actor.HashedWheelTimerScheduler, Akka\"\nakka.scheduler.tick-duration = -10ms", "cannot be used: The input string '-10ms'")]
    [InlineData("akka.scheduler.implementation = \"No.Such.Scheduler, Nowhere\"", "cannot be used: Could not load file or assembly 'Nowhere")]
    [InlineData("actorvmm.device-dispatcher.type = NoSuchDispatcher", "Could not resolve dispatcher type NoSuchDispatcher")]
    [InlineData("actorvmm.blocking-io-dispatcher.type = NoSuchDispatcher", "Could not resolve dispatcher type NoSuchDispatcher")]
    [InlineData("actorvmm.supervision.within = -1s", "cannot be used: The input string '-1s'")]
    [InlineData("actorvmm.supervision.max-restarts = -1", "max-restarts must be 0 or more")]
    public async Task Valid_hocon_the_host_cannot_run_with_is_bad_input(string hocon, string message)
    {
        string config = Path.Combine(_dir, "bad.hocon");
        await File.WriteAllTextAsync(config, hocon);

        await AssertBadInputAsync(["run", "--config", config, "--backend", "emulator"], message);
    }

    [Fact]
    public async Task Guest_ram_the_host_cannot_map_is_bad_input_not_a_hang()
    {
        // An address-space limit makes mmap fail for a size the memory map allows; the GC is kept
        // small so the runtime itself starts under that limit.
        const string AddressSpaceLimit = "8000000000";
        var environment = new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0x10000000" };

        var (code, stdout, stderr) = await ActorVmmProcess.RunAsync(_dir, environment, ["prlimit", $"--as={AddressSpaceLimit}"], "run", "--mem", "64G", "--backend", "emulator", "--console", "none");

        Assert.Equal(ExitCodes.Usage, code);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("this host cannot map 64G of guest RAM", line, StringComparison.Ordinal);
        Assert.Equal(string.Empty, stdout);
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
