using FsCheck;
using FsCheck.Xunit;

namespace ActorVmm.Devices.Tests.Virtio;

// Random descriptor tables and available rings against each device (QueueFuzzer): 100 seeds × 10 000 tables = 10^6 per
// device per run, one class per device so the four run in parallel. ACTORVMM_VIRTIO_FUZZ_SCALE=n multiplies the
// tables per seed for a long soak.

public sealed class VirtioEntropyFuzzTests
{
    [Property(MaxTest = QueueFuzzRun.Seeds)]
    public void Random_rings_never_fault_the_entropy_device_and_every_reply_stays_in_its_chain(DoNotSize<ulong> seed) =>
        QueueFuzzRun.Fuzz(FuzzedDevice.Entropy, seed.Item);
}

public sealed class VirtioBlockFuzzTests
{
    [Property(MaxTest = QueueFuzzRun.Seeds)]
    public void Random_rings_never_fault_the_block_device_and_every_reply_stays_in_its_chain(DoNotSize<ulong> seed) =>
        QueueFuzzRun.Fuzz(FuzzedDevice.Block, seed.Item);
}

public sealed class VirtioConsoleFuzzTests
{
    [Property(MaxTest = QueueFuzzRun.Seeds)]
    public void Random_rings_never_fault_the_console_and_input_is_delivered_once_in_order(DoNotSize<ulong> seed) =>
        QueueFuzzRun.Fuzz(FuzzedDevice.Console, seed.Item);
}

public sealed class VirtioNetFuzzTests
{
    [Property(MaxTest = QueueFuzzRun.Seeds)]
    public void Random_rings_never_fault_the_network_card_and_every_frame_is_sent_or_received_whole_once(DoNotSize<ulong> seed) =>
        QueueFuzzRun.Fuzz(FuzzedDevice.Network, seed.Item);
}

internal static class QueueFuzzRun
{
    public const int Seeds = 100;

    private const int TablesPerSeed = 10_000;

    private static int Tables =>
        TablesPerSeed * (int.TryParse(Environment.GetEnvironmentVariable("ACTORVMM_VIRTIO_FUZZ_SCALE"), out int scale) && scale > 0 ? scale : 1);

    public static void Fuzz(FuzzedDevice device, ulong seed)
    {
        using var fuzzer = new QueueFuzzer(device, seed);

        fuzzer.Run(Tables);

        // Each seed reaches both outcomes: chains returned and malformed ones refused.
        Assert.True(fuzzer.ChainsUsed > 0 && fuzzer.Resets > 0, $"{fuzzer.ChainsUsed} chains returned, {fuzzer.Resets} resets");
        Assert.Equal(Tables, fuzzer.Tables);
        if (device == FuzzedDevice.Network)
        {
            Assert.True(fuzzer.Frames is { Sent: > 0, Received: > 0 }, $"frames sent and received: {fuzzer.Frames}");
        }
    }
}
