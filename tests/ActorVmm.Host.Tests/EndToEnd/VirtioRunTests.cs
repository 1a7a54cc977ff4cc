using System.Buffers.Binary;
using ActorVmm.Devices.Virtio;
using ActorVmm.Devices.Virtio.Block;
using ActorVmm.Devices.Virtio.Pci;
using ActorVmm.Host.Backends;
using ActorVmm.Host.Cli;
using ActorVmm.TestGuests;

namespace ActorVmm.Host.Tests.EndToEnd;

/// <summary>
/// <c>actorvmm run --disk</c> as a process: a flat guest drives virtio-blk and virtio-rng through the virtio-pci transport
/// (the default: enumeration, BAR assignment, capabilities, negotiation, queue set-up, IN/OUT/FLUSH, the ISR) on the
/// emulator and on KVM, and through virtio-mmio (<c>--virtio-transport mmio</c>); an acknowledged FLUSH survives SIGKILL of
/// the host, and bad --disk / --virtio-transport values are refused with one line before anything starts.
/// </summary>
public sealed class VirtioRunTests : IDisposable
{
    private const int Sigkill = 9;
    private const string Transport = "--virtio-transport";
    private const string Mmio = "mmio";
    private const int ImageSectors = 128;
    private static readonly TimeSpan FlushWait = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("actorvmm-virtio-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The emulator always; KVM where /dev/kvm opens (its doorbells are ioeventfds).</summary>
    public static TheoryData<string> Backends()
    {
        var backends = new TheoryData<string> { "emulator" };
        if (new BackendCatalog().IsAvailable(BackendKind.Kvm, out _))
        {
            backends.Add("kvm");
        }

        return backends;
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task A_guest_reads_writes_flushes_and_reads_back_a_disk_through_virtio_mmio(string backend)
    {
        string guest = await WriteGuest(holdAfterFlush: false);
        string disk = WriteDisk();

        var (code, stdout, stderr) = await ActorVmmProcess.RunAsync(_dir, "run", "--image", guest, "--mem", "1M", "--backend", backend, "--disk", disk, Transport, Mmio);

        Assert.True(code == 0, $"guest exit status 0x{code:X2}; stderr: {stderr}");
        Assert.Contains(VirtioBlockGuest.FlushedLine, stdout, StringComparison.Ordinal);
        AssertWrittenSector(disk);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task A_guest_gets_random_bytes_from_virtio_rng_on_the_transport_after_the_disk(string backend)
    {
        string guest = Path.Combine(_dir, "virtio-rng.bin");
        await File.WriteAllBytesAsync(guest, VirtioBlockGuest.Build(withRng: true));
        string disk = WriteDisk();

        var (code, _, stderr) = await ActorVmmProcess.RunAsync(_dir, "run", "--image", guest, "--mem", "1M", "--backend", backend, "--disk", disk, "--rng", Transport, Mmio);

        Assert.True(code == 0, $"guest exit status 0x{code:X2}; stderr: {stderr}");
    }

    [Fact]
    public async Task On_the_emulator_a_guest_finds_virtio_blk_and_virtio_rng_on_PCI_bus_0_and_drives_them_through_virtio_pci_by_default()
    {
        await RunPciGuest("emulator");
    }

    [HostKvmFact]
    public async Task On_KVM_a_guest_finds_virtio_blk_and_virtio_rng_on_PCI_bus_0_and_drives_them_through_virtio_pci_by_default()
    {
        await RunPciGuest("kvm");
    }

    [Fact]
    public async Task With_console_virtio_the_guest_writes_to_the_terminal_through_the_virtio_console()
    {
        const string text = "hello from hvc0\n";
        string guest = Path.Combine(_dir, "hvc0.bin");
        await File.WriteAllBytesAsync(guest, VirtioConsoleGuest.Build(text));

        var (code, stdout, stderr) = await ActorVmmProcess.RunAsync(_dir, "run", "--image", guest, "--mem", "1M", "--backend", "emulator", "--console", "virtio", Transport, Mmio);

        Assert.True(code == 0, $"guest exit status 0x{code:X2}; stderr: {stderr}");
        Assert.Equal(text.TrimEnd('\n'), stdout.Replace("\r", string.Empty, StringComparison.Ordinal).Trim('\n'));
    }

    [Fact]
    public async Task A_virtio_console_log_gets_what_the_guest_writes_to_its_virtio_console()
    {
        const string text = "to the log\n";
        string guest = Path.Combine(_dir, "hvc-log.bin");
        string log = Path.Combine(_dir, "hvc.log");
        await File.WriteAllBytesAsync(guest, VirtioConsoleGuest.Build(text));

        var (code, _, stderr) = await ActorVmmProcess.RunAsync(_dir, "run", "--image", guest, "--mem", "1M", "--backend", "emulator", "--console", "serial", "--virtio-console-log", log, Transport, Mmio);

        Assert.True(code == 0, $"guest exit status 0x{code:X2}; stderr: {stderr}");
        Assert.Equal(text, await File.ReadAllTextAsync(log));
    }

    [Fact]
    public async Task A_write_the_guest_saw_flushed_is_in_the_image_after_the_host_is_killed_with_SIGKILL()
    {
        string guest = await WriteGuest(holdAfterFlush: true);
        string disk = WriteDisk();

        using var process = ActorVmmProcess.Start(_dir, "run", "--image", guest, "--mem", "1M", "--backend", "emulator", "--disk", disk, Transport, Mmio);
        var deadline = DateTime.UtcNow + FlushWait;
        while (!process.Stdout.Contains(VirtioBlockGuest.FlushedLine, StringComparison.Ordinal))
        {
            Assert.False(process.HasExited, $"actorvmm ended before the flush: {process.Stderr}");
            Assert.True(DateTime.UtcNow < deadline, $"no flush within {FlushWait.TotalSeconds} s; stderr: {process.Stderr}");
            await Task.Delay(10);
        }

        process.Signal(Sigkill);
        int code = await process.WaitForExitAsync(FlushWait);

        Assert.Equal(ExitCodes.SignalBase + Sigkill, code);
        AssertWrittenSector(disk);
    }

    [Fact]
    public async Task A_disk_that_does_not_exist_is_refused_with_one_line()
    {
        string missing = Path.Combine(_dir, "missing.img");

        var (code, _, stderr) = await ActorVmmProcess.RunAsync(_dir, "run", "--mem", "1M", "--backend", "emulator", "--disk", missing);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal($"actorvmm: disk image '{missing}' does not exist", stderr.Trim());
    }

    [Fact]
    public async Task A_disk_option_other_than_ro_is_refused()
    {
        string disk = WriteDisk();

        var (code, _, stderr) = await ActorVmmProcess.RunAsync(_dir, "run", "--mem", "1M", "--backend", "emulator", "--disk", disk + ",rw");

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal($"actorvmm: invalid --disk '{disk},rw': expected PATH or PATH,ro", stderr.Trim());
    }

    [Fact]
    public async Task A_disk_that_is_not_whole_sectors_is_refused()
    {
        string disk = Path.Combine(_dir, "odd.img");
        File.WriteAllBytes(disk, new byte[VirtioBlockProtocol.SectorSize + 1]);

        var (code, _, stderr) = await ActorVmmProcess.RunAsync(_dir, "run", "--mem", "1M", "--backend", "emulator", "--disk", disk);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("not a whole number of 512-byte sectors", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_disk_another_vm_holds_is_refused_as_in_use_and_left_untouched()
    {
        string disk = WriteDisk();
        byte[] before = File.ReadAllBytes(disk);
        int code;
        string stderr;
        using (RawImageFile.Open(disk, readOnly: false))
        {
            (code, _, stderr) = await ActorVmmProcess.RunAsync(_dir, "run", "--mem", "1M", "--backend", "emulator", "--disk", disk);
        }

        // Compared once the holder let go: .NET's own reads take a shared flock too.
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("is in use", stderr, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(disk));
    }

    [Fact]
    public async Task A_virtio_transport_the_platform_cannot_place_is_refused()
    {
        var (code, _, stderr) = await ActorVmmProcess.RunAsync(_dir, "run", "--mem", "1M", "--backend", "emulator", "--rng", Transport, "usb");

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("unknown virtio transport 'usb': expected mmio or pci", stderr, StringComparison.Ordinal);
    }

    private async Task RunPciGuest(string backend)
    {
        string guest = Path.Combine(_dir, "virtio-pci.bin");
        await File.WriteAllBytesAsync(guest, VirtioPciGuest.Build(withRng: true));
        string disk = WriteDisk();

        var (code, stdout, stderr) = await ActorVmmProcess.RunAsync(_dir, "run", "--image", guest, "--mem", "1M", "--backend", backend, "--disk", disk, "--rng", "--log-level", "debug");

        Assert.True(code == 0, $"guest exit status 0x{code:X2}; stderr: {stderr}");
        Assert.Contains(VirtioBlockGuest.FlushedLine, stdout, StringComparison.Ordinal);
        AssertWrittenSector(disk);

        // Both functions were on bus 0, and every kick found its doorbell where the guest moved the BAR (no trap-path fallback).
        Assert.Contains($"{VirtioPciRegisters.VendorId:x4}:{VirtioPciLayout.DeviceId(VirtioDeviceType.Block):x4}", stderr, StringComparison.Ordinal);
        Assert.Contains($"{VirtioPciRegisters.VendorId:x4}:{VirtioPciLayout.DeviceId(VirtioDeviceType.Entropy):x4}", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("no doorbell", stderr, StringComparison.Ordinal);
    }

    private static void AssertWrittenSector(string disk)
    {
        byte[] image = File.ReadAllBytes(disk);
        var sector = image.AsSpan((int)VirtioBlockGuest.WrittenSector * VirtioBlockProtocol.SectorSize, VirtioBlockProtocol.SectorSize);
        for (int i = 0; i < sector.Length; i += sizeof(uint))
        {
            Assert.Equal(VirtioBlockGuest.WritePattern, BinaryPrimitives.ReadUInt32LittleEndian(sector[i..]));
        }
    }

    private async Task<string> WriteGuest(bool holdAfterFlush)
    {
        string path = Path.Combine(_dir, holdAfterFlush ? "virtio-hold.bin" : "virtio.bin");
        await File.WriteAllBytesAsync(path, VirtioBlockGuest.Build(holdAfterFlush));
        return path;
    }

    private string WriteDisk()
    {
        string path = Path.Combine(_dir, $"disk-{Guid.NewGuid():N}.img");
        byte[] image = new byte[ImageSectors * VirtioBlockProtocol.SectorSize];
        BinaryPrimitives.WriteUInt32LittleEndian(image, VirtioBlockGuest.Sector0Marker);
        File.WriteAllBytes(path, image);
        return path;
    }
}
