using FsCheck;
using FsCheck.Xunit;

namespace ActorVmm.Devices.Tests.Virtio;

/// <summary>
/// Random descriptor tables and available rings against each device (<see cref="QueueFuzzer"/>): 100 seeds × 10 000
/// tables = 10^6 per device per run. ACTORVMM_VIRTIO_FUZZ_SCALE=n multiplies the tables per seed (a long run for a soak).
/// </summary>
public sealed class VirtioQueueFuzzTests
{
    private const int Seeds = 100;
    private const int TablesPerSeed = 10_000;

    private static int Tables =>
        TablesPerSeed * (int.TryParse(Environment.GetEnvironmentVariable("ACTORVMM_VIRTIO_FUZZ_SCALE"), out int scale) && scale > 0 ? scale : 1);

    [Property(MaxTest = Seeds)]
    public void Random_rings_never_fault_the_entropy_device_and_every_reply_stays_in_its_chain(DoNotSize<ulong> seed) =>
        Fuzz(FuzzedDevice.Entropy, seed.Item);

    [Property(MaxTest = Seeds)]
    public void Random_rings_never_fault_the_block_device_and_every_reply_stays_in_its_chain(DoNotSize<ulong> seed) =>
        Fuzz(FuzzedDevice.Block, seed.Item);

    [Property(MaxTest = Seeds)]
    public void Random_rings_never_fault_the_console_and_input_is_delivered_once_in_order(DoNotSize<ulong> seed) =>
        Fuzz(FuzzedDevice.Console, seed.Item);

    private static void Fuzz(FuzzedDevice device, ulong seed)
    {
        using var fuzzer = new QueueFuzzer(device, seed);

        fuzzer.Run(Tables);

        // The runs reach both outcomes: chains returned and malformed ones refused.
        Assert.True(fuzzer.ChainsUsed > 0 && fuzzer.Resets > 0, $"{fuzzer.ChainsUsed} chains returned, {fuzzer.Resets} resets");
    }
}
