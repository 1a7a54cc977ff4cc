using System.Diagnostics;
using System.Net;
using ActorVmm.Kvm.Tap;
using ActorVmm.TestGuests;

namespace ActorVmm.Kvm.Tests.Tap;

/// <summary>
/// The tap backend against the real kernel: a tap with a random name gets an address from TEST-NET-2 (198.51.100.0/24,
/// never routed) and is brought up; an ARP request sent through it is answered by the kernel, and the answer is read
/// after the poller thread's readiness callback. The tap is not persistent: it goes away when the test closes it.
/// </summary>
public sealed class TapDeviceTests
{
    private static readonly TimeSpan ReplyWait = TimeSpan.FromSeconds(10);
    private static readonly byte[] GuestMac = [0x02, 0x15, 0x15, 0x15, 0x15, 0x42];

    [TapFact]
    public void The_kernel_answers_an_arp_request_sent_through_the_tap_and_the_answer_is_read_after_the_poller_signals()
    {
        string name = RandomName();
        using var tap = TapDevice.Open(name);
        byte subnet = (byte)(Random.Shared.Next(64) * 4);
        var hostIp = IPAddress.Parse($"198.51.100.{subnet + 1}");
        var guestIp = IPAddress.Parse($"198.51.100.{subnet + 2}");
        Ip($"-6 addr flush dev {name}", mayFail: true);
        File.WriteAllText($"/proc/sys/net/ipv6/conf/{name}/disable_ipv6", "1");
        Ip($"addr add {hostIp}/30 dev {name}");
        Ip($"link set {name} up");
        byte[] hostMac = Convert.FromHexString(File.ReadAllText($"/sys/class/net/{name}/address").Trim().Replace(":", string.Empty, StringComparison.Ordinal));

        Assert.True(tap.Send(ArpFrames.Request(GuestMac, guestIp, hostIp)));

        var deadline = DateTime.UtcNow + ReplyWait;
        var frame = new byte[TapDevice.MaxFrameBytes];
        using var readable = new SemaphoreSlim(0);
        int callbackThread = 0;
        while (true)
        {
            int length = tap.TryReceive(frame);
            if (length == 0)
            {
                tap.RequestReadable(() =>
                {
                    callbackThread = Environment.CurrentManagedThreadId;
                    readable.Release();
                });
                Assert.True(readable.Wait(deadline - DateTime.UtcNow), $"no ARP reply within {ReplyWait.TotalSeconds} s (failed errno {tap.FailedErrno})");
                Assert.Equal(EventFdPoller.Shared.ManagedThreadId, callbackThread);
                continue;
            }

            if (ArpFrames.ParseReply(frame.AsSpan(0, length)) is { } reply)
            {
                Assert.Equal(hostMac, reply.SenderMac);
                Assert.Equal(hostIp, reply.SenderIp);
                Assert.Equal(GuestMac, reply.TargetMac);
                Assert.Equal(guestIp, reply.TargetIp);
                Assert.Equal(hostMac, frame[6..12]);
                Assert.Equal(GuestMac, frame[..6]);
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, "frames arrived but no ARP reply");
        }
    }

    [TapFact]
    public void A_tap_another_open_holds_is_refused_as_busy_with_its_name()
    {
        string name = RandomName();
        using var first = TapDevice.Open(name);

        var ex = Assert.Throws<IOException>(() => TapDevice.Open(name));

        Assert.Equal($"tap '{name}' is busy: another process has it open", ex.Message);
    }

    [TapFact]
    public void With_nothing_waiting_a_read_returns_zero_at_once_and_an_empty_frame_is_not_sent()
    {
        using var tap = TapDevice.Open(RandomName());

        Assert.Equal(0, tap.TryReceive(new byte[2048]));
        Assert.False(tap.Send([]));
        Assert.Equal(0, tap.FailedErrno);
    }

    [Fact]
    public void A_name_longer_than_the_kernel_takes_is_refused_before_anything_is_opened()
    {
        var ex = Assert.Throws<IOException>(() => TapDevice.Open(new string('t', 16)));

        Assert.Contains("1 to 15 characters", ex.Message, StringComparison.Ordinal);
    }

    private static string RandomName() => $"avt{Random.Shared.Next(0x100000):x5}";

    private static void Ip(string arguments, bool mayFail = false)
    {
        using var ip = Process.Start(new ProcessStartInfo("ip", arguments) { RedirectStandardError = true }) ?? throw new InvalidOperationException("ip did not start");
        string error = ip.StandardError.ReadToEnd();
        ip.WaitForExit();
        Assert.True(mayFail || ip.ExitCode == 0, $"ip {arguments}: {error}");
    }
}
