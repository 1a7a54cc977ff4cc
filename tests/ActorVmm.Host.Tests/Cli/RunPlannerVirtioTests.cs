using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Platforms;
using ActorVmm.Devices.Virtio;
using ActorVmm.Devices.Virtio.Block;
using ActorVmm.Host.Cli;
using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Boot.Linux;
using ActorVmm.TestGuests;

namespace ActorVmm.Host.Tests.Cli;

/// <summary>actorvmm run's virtio options as planned: disks with their ro flag, rng, virtio consoles, the transport, and the machine built from them.</summary>
public sealed class RunPlannerVirtioTests : IDisposable
{
    private const int ProcessId = 4242;
    private readonly string _dir = Directory.CreateTempSubdirectory("actorvmm-planner-virtio-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Disks_keep_their_order_and_ro_flag_and_the_rng_and_virtio_console_are_planned()
    {
        string a = Disk("a.img");
        string b = Disk("b,with-comma.img");

        var plan = RunPlanner.Plan(new RunArguments { Disks = [a, b + ",ro"], Rng = true, Console = "virtio" }, ProcessId);

        Assert.Equal([new DiskSpec(a, false), new DiskSpec(b, true)], plan.Disks);
        Assert.True(plan.Rng);
        Assert.Equal(ConsoleMode.Virtio, plan.Console);
        Assert.Equal(VirtioTransportKind.Pci, plan.VirtioTransport);
        Assert.Equal(4, plan.VirtioDeviceCount);
    }

    [Fact]
    public void The_machine_puts_the_terminal_console_first_then_the_logged_console_the_disks_and_the_rng()
    {
        string disk = Disk("a.img");
        var plan = RunPlanner.Plan(new RunArguments { Disks = [disk + ",ro"], Rng = true, Console = "virtio", VirtioConsoleLog = Path.Combine(_dir, "hvc1.log") }, ProcessId);
        using var disks = DiskImages.Open(plan.Disks);

        var options = RunDevices.Platform(plan, disks, ActorVmm.Devices.NullGuestOutput.Instance);

        Assert.Equal([RunDevices.VirtioConsoleName, RunDevices.VirtioConsoleLogName, RunDevices.VirtioBlockPrefix + "0", RunDevices.VirtioRngName], options.Virtio!.Select(s => s.Name));
        Assert.False(options.SerialConsole);
        Assert.Equal(RunDevices.VirtioConsoleName, RunDevices.ConsoleDevice(plan));
        Assert.True(disks.Images[0].IsReadOnly);
    }

    [Fact]
    public void The_serial_console_keeps_com1_on_the_terminal()
    {
        var plan = RunPlanner.Plan(new RunArguments { Rng = true }, ProcessId);
        using var disks = DiskImages.Open(plan.Disks);

        var options = RunDevices.Platform(plan, disks, consoleLog: null);

        Assert.True(options.SerialConsole);
        Assert.Equal(X86Platform.ConsolePort.Name, RunDevices.ConsoleDevice(plan));
    }

    [Fact]
    public void More_virtio_mmio_devices_than_the_platform_has_lines_are_refused_but_fit_on_the_PCI_bus()
    {
        string disk = Disk("a.img");
        var disks = Enumerable.Repeat(disk + ",ro", X86Platform.VirtioMmioIrqs.Count).ToArray();

        AssertRejected(new RunArguments { Disks = disks, Rng = true, VirtioTransport = "mmio" }, "too many virtio devices");
        Assert.Equal(disks.Length + 1, RunPlanner.Plan(new RunArguments { Disks = disks, Rng = true }, ProcessId).VirtioDeviceCount);
    }

    [Fact]
    public void More_virtio_devices_than_PCI_bus_0_has_slots_are_refused()
    {
        string disk = Disk("a.img");
        var disks = Enumerable.Repeat(disk + ",ro", PciAddress.DevicesPerBus).ToArray();

        AssertRejected(new RunArguments { Disks = disks }, "free PCI slots on bus 0");
    }

    [Theory]
    [InlineData("pci", VirtioTransportKind.Pci)]
    [InlineData("mmio", VirtioTransportKind.Mmio)]
    [InlineData(" PCI ", VirtioTransportKind.Pci)]
    public void The_virtio_transport_is_parsed(string text, VirtioTransportKind expected) =>
        Assert.Equal(expected, RunPlanner.ParseVirtioTransport(text));

    [Fact]
    public void A_linux_boot_names_virtio_mmio_transports_on_the_command_line_only_with_the_mmio_transport()
    {
        string kernel = Path.Combine(_dir, "bzImage");
        File.WriteAllBytes(kernel, TestBzImage.Build());
        string disk = Disk("a.img");

        var mmio = RunPlanner.Plan(new RunArguments { Kernel = kernel, Memory = "64M", Backend = "kvm", Disks = [disk], Rng = true, VirtioTransport = "mmio" }, ProcessId);
        var pci = RunPlanner.Plan(new RunArguments { Kernel = kernel, Memory = "64M", Backend = "kvm", Disks = [disk], Rng = true }, ProcessId);

        Assert.EndsWith(" " + X86Platform.VirtioMmioKernelParameters(2), Assert.IsType<LinuxBoot>(mmio.Boot).CommandLine, StringComparison.Ordinal);
        Assert.DoesNotContain("virtio_mmio.device=", Assert.IsType<LinuxBoot>(pci.Boot).CommandLine, StringComparison.Ordinal);
        Assert.Equal(LinuxCommandLine.Compose(null), Assert.IsType<LinuxBoot>(pci.Boot).CommandLine);
    }

    [Fact]
    public void A_directory_as_disk_is_refused() =>
        AssertRejected(new RunArguments { Disks = [_dir] }, "is a directory, not a file");

    [Fact]
    public void An_empty_disk_is_refused()
    {
        string empty = Path.Combine(_dir, "empty.img");
        File.WriteAllBytes(empty, []);

        AssertRejected(new RunArguments { Disks = [empty] }, "is empty");
    }

    [Fact]
    public void An_unknown_console_names_the_virtio_choice() =>
        AssertRejected(new RunArguments { Console = "hvc" }, "expected serial, virtio or none");

    [Fact]
    public void A_second_writer_of_an_open_image_is_refused_as_in_use()
    {
        var plan = RunPlanner.Plan(new RunArguments { Disks = [Disk("a.img")] }, ProcessId);
        using var first = DiskImages.Open(plan.Disks);

        var ex = Assert.Throws<UsageException>(() => DiskImages.Open(plan.Disks));

        Assert.Contains("is in use", ex.Message, StringComparison.Ordinal);
    }

    private string Disk(string name)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, new byte[8 * VirtioBlockProtocol.SectorSize]);
        return path;
    }

    private static void AssertRejected(RunArguments args, string message)
    {
        var ex = Assert.Throws<UsageException>(() => RunPlanner.Plan(args, ProcessId));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }
}
