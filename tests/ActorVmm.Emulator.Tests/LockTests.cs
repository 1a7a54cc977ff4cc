using ActorVmm.Machine.Vcpu;
using ActorVmm.TestGuests;

namespace ActorVmm.Emulator.Tests;

public sealed class LockTests
{
    private const int Vcpus = 2;

    [Fact]
    public void Two_vcpus_lock_incrementing_a_shared_counter_reach_the_exact_total()
    {
        using var harness = new EmulatorHarness(LockGuest.Build(Vcpus), vcpus: Vcpus);
        var results = harness.CapturePortWrites(IoGuests.ResultPort, 4);
        harness.Vm.Vcpus[1].SetEntryState(RealModeEntry.FlatBinary);
        harness.Vm.Vcpus[1].Start();

        harness.RunToCompletion();

        Assert.Equal([(ulong)LockGuest.IncrementsPerVcpu * Vcpus], results.ToArray());
        Assert.True(harness.Vm.InstructionsRetired(1) > LockGuest.IncrementsPerVcpu, "the second vCPU did not run its loop");
    }
}
