using ActorVmm.Devices;
using ActorVmm.Devices.Platforms;
using ActorVmm.Devices.Serial;
using ActorVmm.Devices.Virtio;
using ActorVmm.Devices.Virtio.Block;
using ActorVmm.Devices.Virtio.Console;
using ActorVmm.Devices.Virtio.Net;
using ActorVmm.Devices.Virtio.Rng;

namespace ActorVmm.Host.Cli;

/// <summary>
/// The machine <c>actorvmm run</c> builds from its plan: the x86 platform with the virtio devices asked for, in the order
/// Linux numbers them (the terminal's virtio console first, so it is hvc0; then the logged console, the disks in --disk
/// order as vda, vdb, ..., the RNG, then the network cards in -n order as eth0, eth1, ...), and which device takes the
/// terminal's input.
/// </summary>
public static class RunDevices
{
    /// <summary>Device names, as logs and the supervisor know them.</summary>
    public const string VirtioConsoleName = "virtio-console", VirtioConsoleLogName = "virtio-console-log", VirtioRngName = "virtio-rng", VirtioBlockPrefix = "virtio-blk", VirtioNetPrefix = "virtio-net";

    /// <summary>
    /// The platform options for <paramref name="plan"/> over its open <paramref name="disks"/> and attached
    /// <paramref name="networks"/> (none when null); <paramref name="consoleLog"/> receives the logged console (when the plan has one).
    /// </summary>
    public static X86PlatformOptions Platform(RunPlan plan, DiskImages disks, IGuestOutput? consoleLog, NetworkTaps? networks = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(disks);
        var specs = new List<VirtioDeviceSpec>();
        if (plan.Console == ConsoleMode.Virtio)
        {
            specs.Add(new VirtioDeviceSpec(VirtioConsoleName, VirtioDeviceType.Console, c => new VirtioConsole(c.Input, c.Output)));
        }

        if (plan.VirtioConsoleLog is not null)
        {
            var output = consoleLog ?? throw new ArgumentException("The plan logs a virtio console but no output was given", nameof(consoleLog));
            specs.Add(new VirtioDeviceSpec(VirtioConsoleLogName, VirtioDeviceType.Console, c => new VirtioConsole(c.Input, output)));
        }

        for (int i = 0; i < disks.Images.Count; i++)
        {
            var image = disks.Images[i];
            string name = $"{VirtioBlockPrefix}{i}";
            specs.Add(new VirtioDeviceSpec(name, VirtioDeviceType.Block, _ => new VirtioBlock(image, name)));
        }

        if (plan.Rng)
        {
            specs.Add(new VirtioDeviceSpec(VirtioRngName, VirtioDeviceType.Entropy, _ => new VirtioRng()));
        }

        if (networks is not null)
        {
            for (int i = 0; i < networks.Taps.Count; i++)
            {
                var (tap, mac, counters) = (networks.Taps[i], networks.Specs[i].GuestMac, networks.Counters[i]);
                specs.Add(new VirtioDeviceSpec($"{VirtioNetPrefix}{i}", VirtioDeviceType.Network, _ => new VirtioNet(tap, mac, counters)));
            }
        }

        return new X86PlatformOptions(Virtio: specs, SerialConsole: plan.Console != ConsoleMode.Virtio) { VirtioTransport = plan.VirtioTransport };
    }

    /// <summary>The device the terminal's input goes to.</summary>
    public static string ConsoleDevice(RunPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return plan.Console == ConsoleMode.Virtio ? VirtioConsoleName : SerialPortSpec.Com1.Name;
    }
}
