using ActorVmm.TestGuests;

namespace ActorVmm.Emulator.Tests;

public sealed class ModeSwitchTests
{
    private const ulong GpVector = 13;
    private const ulong PfVector = 14;
    private const ulong PageNotPresentReadError = 0;

    [Fact]
    public void Guest_switches_real_to_protected_to_long_mode_taking_int_n_in_32_bit_and_gp_and_pf_in_64_bit_through_the_idt()
    {
        using var harness = new EmulatorHarness(ModeSwitchGuest.Build(), ModeSwitchGuest.MemorySize);
        var results = harness.CapturePortWrites(IoGuests.ResultPort, 4);

        var exit = harness.RunToCompletion();

        Assert.True(harness.ExitStatus == 0, $"exit {exit}; results {string.Join(",", results.Select(r => r.ToString("X")))}");
        Assert.Equal(
            [
                ModeSwitchGuest.MarkerProtected,
                ModeSwitchGuest.MarkerInt32, ModeSwitchGuest.Code32Selector,
                ModeSwitchGuest.MarkerLong,
                GpVector, ModeSwitchGuest.BadSelector,
                PfVector, PageNotPresentReadError, ModeSwitchGuest.UnmappedAddress,
                ModeSwitchGuest.AliasValue,
            ],
            results.ToArray());
        Assert.Equal(64, harness.Vm.Core(0).Bitness);
    }
}
