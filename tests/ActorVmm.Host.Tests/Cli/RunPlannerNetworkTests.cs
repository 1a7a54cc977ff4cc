using System.CommandLine;
using ActorVmm.Devices.Platforms;
using ActorVmm.Devices.Virtio.Net;
using ActorVmm.Host.Backends;
using ActorVmm.Host.Cli;

namespace ActorVmm.Host.Tests.Cli;

/// <summary>actorvmm run's -n/--network as parsed and planned (kvmtool's syntax), and -n no longer meaning --name.</summary>
public sealed class RunPlannerNetworkTests
{
    private const int ProcessId = 4242;

    [Fact]
    public void Each_network_is_a_card_on_its_tap_with_kvmtools_default_mac_counted_per_card_unless_given()
    {
        var plan = RunPlanner.Plan(new RunArguments { Networks = ["mode=tap,tapif=tap0", "tapif=tap1,guest_mac=52:54:00:AB:cd:01", "mode=tap,tapif=tap2"] }, ProcessId);

        Assert.Equal(
            [
                new NetworkSpec("tap0", MacAddress.DefaultGuest),
                new NetworkSpec("tap1", MacAddress.FromBytes([0x52, 0x54, 0x00, 0xAB, 0xCD, 0x01])),
                new NetworkSpec("tap2", MacAddress.DefaultGuest.WithLastByteOffset(2)),
            ],
            plan.Networks);
        Assert.Equal("02:15:15:15:15:17", plan.Networks[2].GuestMac.ToString());
        Assert.Equal(3, plan.VirtioDeviceCount);
    }

    [Theory]
    [InlineData("mode=user,tapif=tap0", "mode 'user' is not supported (only mode=tap)")]
    [InlineData("mode=tap", "tapif=NAME is missing")]
    [InlineData("mode=tap,tapif=tap0,guest_mac=02:15:15:15:15", "guest_mac '02:15:15:15:15' is not a MAC address")]
    [InlineData("tapif=tap0,guest_mac=02:15:15:15:15:zz", "is not a MAC address")]
    [InlineData("tapif=tap0,guest_mac=01:00:5e:00:00:01", "is a multicast address")]
    [InlineData("tapif=tap0,host_ip=10.0.0.1", "unknown key 'host_ip'")]
    [InlineData("tapif=tap0,tapif=tap1", "'tapif' is given twice")]
    [InlineData("tap0", "expected mode=tap,tapif=NAME")]
    [InlineData("tapif=a-name-much-too-long", "is not an interface name")]
    [InlineData("tapif=ta/p", "is not an interface name")]
    public void A_malformed_network_is_refused_with_one_line_naming_the_problem(string value, string message) =>
        AssertRejected(new RunArguments { Networks = [value] }, message);

    [Fact]
    public void The_same_tap_or_mac_on_two_cards_is_refused()
    {
        AssertRejected(new RunArguments { Networks = ["tapif=tap0", "tapif=tap0"] }, "tap 'tap0' is given twice");
        AssertRejected(new RunArguments { Networks = ["tapif=tap0,guest_mac=02:00:00:00:00:01", "tapif=tap1,guest_mac=02:00:00:00:00:01"] }, "is already another card's");
    }

    [Fact]
    public void Networks_count_against_the_virtio_mmio_slots()
    {
        var networks = Enumerable.Range(0, X86Platform.VirtioMmioIrqs.Count).Select(i => $"tapif=tap{i}").ToArray();

        AssertRejected(new RunArguments { Networks = networks, Rng = true, VirtioTransport = "mmio" }, "too many virtio devices");
    }

    [Fact]
    public void Dash_n_is_network_and_name_is_long_only()
    {
        var root = CommandLineApp.Build(new BackendCatalog());

        var network = root.Parse(["run", "-n", "mode=tap,tapif=tap0", "-n", "tapif=tap1"]);
        var name = root.Parse(["run", "--name", "vm1"]);

        Assert.Empty(network.Errors);
        Assert.Equal(["mode=tap,tapif=tap0", "tapif=tap1"], network.GetValue<string[]>("--network") ?? []);
        Assert.Empty(name.Errors);
        Assert.Equal("vm1", name.GetValue<string>("--name"));
        var run = root.Subcommands.Single(c => c.Name == "run");
        Assert.DoesNotContain("-n", run.Options.Single(o => o.Name == "--name").Aliases);
    }

    private static void AssertRejected(RunArguments args, string message)
    {
        var ex = Assert.Throws<UsageException>(() => RunPlanner.Plan(args, ProcessId));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }
}
