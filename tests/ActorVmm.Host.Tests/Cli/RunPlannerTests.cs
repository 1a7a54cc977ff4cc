using ActorVmm.Host.Backends;
using ActorVmm.Host.Cli;
using ActorVmm.Host.Demo;
using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Boot.Linux;
using ActorVmm.Machine.Passthrough;
using ActorVmm.TestGuests;
using Serilog.Events;

namespace ActorVmm.Host.Tests.Cli;

public sealed class RunPlannerTests : IDisposable
{
    private const int ProcessId = 4242;
    private const uint RootUid = 0;
    private readonly string _dir = Directory.CreateTempSubdirectory("actorvmm-planner-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void No_image_plans_the_demo_guest_with_defaults_named_after_the_process()
    {
        var plan = RunPlanner.Plan(new RunArguments(), ProcessId);

        Assert.Equal($"guest-{ProcessId}", plan.Name);
        Assert.Equal(DemoGuest.Build(), Assert.IsType<FlatBinaryBoot>(plan.Boot).Image);
        Assert.Equal(SizeParser.Parse(RunPlanner.DefaultMemory), plan.MemorySize);
        Assert.Equal(1, plan.Cpus);
        Assert.Equal(BackendKind.Auto, plan.Backend);
        Assert.Equal(ConsoleMode.Serial, plan.Console);
        Assert.Equal(LogEventLevel.Warning, plan.Logging.Level);
    }

    [Fact]
    public void An_image_file_is_read_into_the_plan()
    {
        byte[] guest = Guests.SerialHello("planned", status: 7);
        string path = Write("hello.bin", guest);

        var plan = RunPlanner.Plan(new RunArguments { Image = path, Memory = "1M", Cpus = 2, Backend = "emulator", Console = "none", Name = "vm-a" }, ProcessId);

        Assert.Equal(guest, Assert.IsType<FlatBinaryBoot>(plan.Boot).Image);
        Assert.Equal(SizeParser.MiB, plan.MemorySize);
        Assert.Equal(2, plan.Cpus);
        Assert.Equal(BackendKind.Emulator, plan.Backend);
        Assert.Equal(ConsoleMode.None, plan.Console);
        Assert.Equal("vm-a", plan.Name);
    }

    [Fact]
    public void Missing_image_is_bad_input() =>
        AssertRejected(new RunArguments { Image = Path.Combine(_dir, "nope.bin") }, "does not exist");

    [Fact]
    public void Directory_as_image_is_bad_input() =>
        AssertRejected(new RunArguments { Image = _dir }, "is a directory");

    [Fact]
    public void Empty_image_is_bad_input() =>
        AssertRejected(new RunArguments { Image = Write("empty.bin", []) }, "is empty");

    [Fact]
    public void Unreadable_image_is_bad_input()
    {
        string path = Write("secret.bin", Guests.SerialHello());
        File.SetUnixFileMode(path, UnixFileMode.None);
        if (ActorVmm.Host.Interop.Libc.geteuid() == RootUid)
        {
            // root reads any file; the check is meaningful only for ordinary users.
            Assert.Equal(Guests.SerialHello(), RunPlanner.ReadImage(path, SizeParser.MiB));
            return;
        }

        AssertRejected(new RunArguments { Image = path }, "cannot be read");
    }

    [Fact]
    public void Image_larger_than_memory_above_the_load_address_is_bad_input()
    {
        const int ImageSize = 128 * 1024;
        AssertRejected(new RunArguments { Image = Write("big.bin", new byte[ImageSize]), Memory = "128K" }, "larger than guest memory allows");
    }

    [Theory]
    [InlineData("12Q", "invalid --mem: '12Q' has an unknown size unit 'Q'")]
    [InlineData("1000B", "not a whole number of 4 KiB pages")]
    [InlineData("0", "zero size")]
    public void Malformed_memory_is_bad_input(string memory, string message) =>
        AssertRejected(new RunArguments { Memory = memory }, message);

    [Theory]
    [InlineData(0)]
    [InlineData(65)]
    [InlineData(-3)]
    public void Cpu_counts_outside_one_to_max_are_bad_input(int cpus) =>
        AssertRejected(new RunArguments { Cpus = cpus }, "invalid --cpus");

    [Fact]
    public void Unknown_backend_is_bad_input() =>
        AssertRejected(new RunArguments { Backend = "qemu" }, "unknown backend 'qemu'");

    [Fact]
    public void Unknown_console_is_bad_input() =>
        AssertRejected(new RunArguments { Console = "vga" }, "unknown console 'vga'");

    [Fact]
    public void Unknown_log_level_is_bad_input() =>
        AssertRejected(new RunArguments { LogLevel = "loud" }, "unknown log level 'loud'");

    [Theory]
    [InlineData("has space")]
    [InlineData(".hidden")]
    [InlineData("a/b")]
    [InlineData("")]
    public void Names_outside_the_safe_alphabet_are_bad_input(string name) =>
        AssertRejected(new RunArguments { Name = name }, "invalid --name");

    [Fact]
    public void A_kernel_with_initrd_and_params_plans_a_linux_boot_with_the_platform_entries_first()
    {
        byte[] kernel = TestBzImage.Build();
        byte[] initrd = [1, 2, 3, 4];
        string kernelPath = Write("bzImage", kernel);

        var plan = RunPlanner.Plan(new RunArguments { Kernel = kernelPath, Initrd = Write("initrd", initrd), Params = "panic=-1", Memory = "256M", Cpus = 2, Backend = "kvm", Reboot = true }, ProcessId);

        var boot = Assert.IsType<LinuxBoot>(plan.Boot);
        Assert.Equal(kernel, boot.Kernel);
        Assert.Equal(initrd, boot.Initrd);
        Assert.Equal(string.Join(' ', LinuxCommandLine.PlatformEntries) + " panic=-1", boot.CommandLine);
        Assert.Equal(kernelPath, plan.ImageDescription);
        Assert.True(plan.Reboot);
        Assert.Equal(2, plan.Cpus);
    }

    [Fact]
    public void A_linux_boot_on_the_emulator_is_bad_input_whether_asked_for_or_resolved_from_auto()
    {
        string kernel = Write("bzImage", TestBzImage.Build());
        AssertRejected(new RunArguments { Kernel = kernel, Memory = "64M", Backend = "emulator" }, "the emulator backend boots Linux only experimentally so far");

        var plan = RunPlanner.Plan(new RunArguments { Kernel = kernel, Memory = "64M" }, ProcessId);
        var ex = Assert.Throws<UsageException>(() => RunPlanner.CheckBackendBoots(plan, BackendKind.Emulator));
        Assert.Contains("the emulator backend boots Linux only experimentally so far", ex.Message, StringComparison.Ordinal);
        RunPlanner.CheckBackendBoots(plan, BackendKind.Kvm);
        RunPlanner.CheckBackendBoots(RunPlanner.Plan(new RunArguments(), ProcessId), BackendKind.Emulator);
    }

    [Fact]
    public void The_experimental_emulator_linux_option_lets_a_linux_boot_run_on_the_emulator()
    {
        string kernel = Write("bzImage", TestBzImage.Build());

        var plan = RunPlanner.Plan(new RunArguments { Kernel = kernel, Memory = "64M", Backend = "emulator", ExperimentalEmulatorLinux = true }, ProcessId);

        Assert.IsType<LinuxBoot>(plan.Boot);
        Assert.True(plan.ExperimentalEmulatorLinux);
        RunPlanner.CheckBackendBoots(plan, BackendKind.Emulator);
    }

    [Fact]
    public void Initrd_or_params_without_a_kernel_and_an_image_with_a_kernel_are_bad_input()
    {
        AssertRejected(new RunArguments { Initrd = Write("initrd", [1]) }, "--initrd needs --kernel");
        AssertRejected(new RunArguments { Params = "console=ttyS0" }, "--params needs --kernel");
        AssertRejected(new RunArguments { Kernel = Write("bzImage", TestBzImage.Build()), Image = Write("flat.bin", [0xF4]) }, "--image and --kernel cannot be used together");
    }

    [Fact]
    public void Kernel_and_initrd_files_are_checked_before_they_are_read()
    {
        const int Size = 2 * 1024 * 1024;
        string kernel = Write("bzImage", TestBzImage.Build());
        AssertRejected(new RunArguments { Kernel = Path.Combine(_dir, "none") }, $"kernel '{Path.Combine(_dir, "none")}' does not exist");
        AssertRejected(new RunArguments { Kernel = _dir }, "is a directory");
        AssertRejected(new RunArguments { Kernel = Write("empty", []) }, $"kernel '{Path.Combine(_dir, "empty")}' is empty");
        AssertRejected(new RunArguments { Kernel = kernel, Initrd = "/dev/zero" }, "initrd '/dev/zero' is a character device, not a regular file");
        AssertRejected(new RunArguments { Kernel = kernel, Initrd = Write("big-initrd", new byte[Size]), Memory = "1M" }, "is larger than guest memory (1M)");
        AssertRejected(new RunArguments { Kernel = kernel, Initrd = Path.Combine(_dir, "no-initrd") }, "initrd '");
    }

    [Fact]
    public void A_file_that_is_not_a_bootable_kernel_is_bad_input_naming_the_file_and_the_check()
    {
        string notKernel = Write("random.bin", [.. Enumerable.Range(0, 4096).Select(i => (byte)(i * 7))]);
        string old = Write("old-bzImage", TestBzImage.Build(new TestBzImage.Spec { Protocol = 0x0206 }));

        AssertRejected(new RunArguments { Kernel = notKernel }, $"kernel '{notKernel}' is not a bzImage");
        AssertRejected(new RunArguments { Kernel = old }, "older than the 2.10");
    }

    [Fact]
    public void Placement_limits_of_the_kernel_initrd_and_command_line_are_bad_input()
    {
        var spec = new TestBzImage.Spec();
        string kernel = Write("bzImage", TestBzImage.Build(spec));
        string initrd = Write("initrd", new byte[24 * 1024 * 1024]);

        AssertRejected(new RunArguments { Kernel = kernel, Memory = "16M" }, "does not fit in guest RAM");
        AssertRejected(new RunArguments { Kernel = kernel, Initrd = initrd, Memory = "32M" }, "does not fit");
        AssertRejected(new RunArguments { Kernel = kernel, Params = new string('p', (int)spec.CommandLineSize) }, "(cmdline_size)");
    }

    [Fact]
    public void Missing_config_file_is_bad_input() =>
        AssertRejected(new RunArguments { Config = Path.Combine(_dir, "missing.hocon") }, "does not exist");

    [Fact]
    public void Malformed_hocon_is_bad_input() =>
        AssertRejected(new RunArguments { Config = Write("bad.hocon", "akka { loglevel = ${no-such-setting} }"u8.ToArray()) }, "is not valid HOCON");

    [Fact]
    public void Console_log_in_a_missing_directory_is_bad_input() =>
        AssertRejected(new RunArguments { ConsoleLog = Path.Combine(_dir, "no", "such", "console.log") }, "does not exist");

    private string Write(string name, byte[] content)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    [Fact]
    public void Vfio_pci_addresses_are_parsed_in_order_with_domain_zero_when_left_out()
    {
        var plan = RunPlanner.Plan(new RunArguments { VfioPci = ["0000:00:03.0", "01:00.1", "abcd:ff:1f.7"] }, ProcessId);

        Assert.Equal([new VfioPciAddress(0, 0, 3, 0), new VfioPciAddress(0, 1, 0, 1), new VfioPciAddress(0xABCD, 0xFF, 0x1F, 7)], plan.VfioPci);
        Assert.Equal("abcd:ff:1f.7", plan.VfioPci[2].ToString());
    }

    [Theory]
    [InlineData("0000:00:20.0")]
    [InlineData("0000:00:03.8")]
    [InlineData("00003.0")]
    [InlineData("12345:00:03.0")]
    [InlineData("0000:00:03")]
    [InlineData("")]
    public void A_malformed_vfio_pci_address_is_bad_input(string address) =>
        AssertRejected(new RunArguments { VfioPci = [address] }, "invalid --vfio-pci");

    [Fact]
    public void The_same_vfio_pci_device_twice_is_bad_input() =>
        AssertRejected(new RunArguments { VfioPci = ["0000:00:03.0", "00:03.0"] }, "0000:00:03.0 is given twice");

    [Fact]
    public void Vfio_pci_on_the_emulator_is_refused_as_needing_kvm()
    {
        var plan = RunPlanner.Plan(new RunArguments { VfioPci = ["0000:00:03.0"] }, ProcessId);

        var ex = Assert.Throws<UsageException>(() => RunPlanner.CheckBackendSupports(plan, BackendKind.Emulator, "auto: /dev/kvm missing"));
        Assert.Contains("--vfio-pci needs the KVM backend", ex.Message, StringComparison.Ordinal);
        Assert.Contains("auto: /dev/kvm missing", ex.Message, StringComparison.Ordinal);
        RunPlanner.CheckBackendSupports(RunPlanner.Plan(new RunArguments(), ProcessId), BackendKind.Emulator, "requested");
    }

    private static void AssertRejected(RunArguments args, string message)
    {
        var ex = Assert.Throws<UsageException>(() => RunPlanner.Plan(args, ProcessId));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }
}
