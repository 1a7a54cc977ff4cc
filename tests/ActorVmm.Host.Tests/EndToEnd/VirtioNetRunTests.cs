using System.Net;
using ActorVmm.Devices.Virtio.Net;
using ActorVmm.Host.Cli;
using ActorVmm.Kvm.Tap;
using ActorVmm.TestGuests;

namespace ActorVmm.Host.Tests.EndToEnd;

/// <summary>
/// <c>actorvmm run -n mode=tap,tapif=NAME</c> as a process inside a fresh network namespace: a flat guest on the
/// virtio-net card sends an ARP request for the tap's address and gets the host kernel's ARP reply (sender: the tap's MAC
/// and address, target: the guest's MAC from guest_mac= and its address), on the emulator and on KVM; a busy tap and a
/// malformed -n are refused with one line.
/// </summary>
public sealed class VirtioNetRunTests : IDisposable
{
    private static readonly MacAddress GuestMac = MacAddress.FromBytes([0x02, 0x15, 0x15, 0x00, 0xAB, 0x01]);
    private readonly string _dir = Directory.CreateTempSubdirectory("actorvmm-net-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [NetworkTapFact]
    public Task A_guest_on_the_emulator_gets_the_host_kernels_arp_reply_through_the_tap() => ArpThroughTap("emulator");

    [NetworkTapFact(NeedsKvm = true)]
    public Task A_guest_on_kvm_gets_the_host_kernels_arp_reply_through_the_tap() => ArpThroughTap("kvm");

    [NetworkTapFact]
    public async Task A_tap_another_process_holds_is_refused_with_one_line()
    {
        string name = $"avb{Random.Shared.Next(0x100000):x5}";
        using var held = TapDevice.Open(name);

        var (code, _, stderr) = await ActorVmmProcess.RunAsync(_dir, "run", "--mem", "1M", "--backend", "emulator", "-n", $"mode=tap,tapif={name}");

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal($"actorvmm: --network tapif={name}: tap '{name}' is busy: another process has it open", stderr.Trim());
    }

    [Fact]
    public async Task An_unknown_network_mode_is_refused_with_one_line_before_anything_starts()
    {
        var (code, _, stderr) = await ActorVmmProcess.RunAsync(_dir, "run", "--mem", "1M", "--backend", "emulator", "-n", "mode=user");

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal("actorvmm: invalid --network 'mode=user': mode 'user' is not supported (only mode=tap)", stderr.Trim());
    }

    private async Task ArpThroughTap(string backend)
    {
        byte subnet = (byte)(Random.Shared.Next(64) * 4);
        var hostIp = IPAddress.Parse($"198.51.100.{subnet + 1}");
        var guestIp = IPAddress.Parse($"198.51.100.{subnet + 2}");
        using var ns = NetworkNamespace.Create($"{hostIp}/30");
        string guest = Path.Combine(_dir, "arp.bin");
        await File.WriteAllBytesAsync(guest, VirtioNetGuest.Build(GuestMac, guestIp, hostIp, MacAddress.FromBytes(ns.TapMac())));

        var (code, _, stderr) = await ActorVmmProcess.RunAsync(
            _dir, new Dictionary<string, string>(), ns.Launcher,
            "run", "--image", guest, "--mem", "1M", "--backend", backend, "--virtio-transport", "mmio", "-n", $"mode=tap,tapif={ns.Tap},guest_mac={GuestMac}");

        Assert.True(code == 0, $"guest exit status 0x{code:X2}; stderr: {stderr}");
    }
}
