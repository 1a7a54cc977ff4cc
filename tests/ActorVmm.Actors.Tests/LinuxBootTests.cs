using ActorVmm.Actors.Console;
using ActorVmm.Actors.Vm;
using ActorVmm.Devices.Platforms;
using ActorVmm.Emulator;
using ActorVmm.Machine.Boot;
using ActorVmm.TestGuests;
using Xunit.Abstractions;

namespace ActorVmm.Actors.Tests;

/// <summary>A VM definition whose boot source is a Linux kernel, through the VM actor.</summary>
public sealed class LinuxBootTests(ITestOutputHelper output) : ActorVmmTestKit(output)
{
    private const ulong MemorySize = 64UL << 20;
    private static readonly TimeSpan GuestPatience = TimeSpan.FromSeconds(60);

    [Fact]
    public void A_linux_boot_source_is_loaded_and_its_64_bit_entry_runs_to_the_exit_port()
    {
        var definition = new VmDefinition("linux", MemorySize, 1, new LinuxBoot(TestBzImage.Build(), [1, 2, 3], "console=ttyS0"), [], ConsoleTarget.None, Platform: X86Platform.Default);
        using var hypervisor = new EmulatorHypervisor();
        var vm = Sys.ActorOf(VmActor.Props(definition, hypervisor), definition.Name);

        vm.Tell(VmProtocol.Start.Instance, TestActor);
        ExpectMsg<VmProtocol.CommandAccepted>(Patience);
        vm.Tell(VmProtocol.AwaitExit.Instance, TestActor);
        var exited = ExpectMsg<VmProtocol.Exited>(GuestPatience);

        Assert.Equal(VmExitReason.ExitPort, exited.Exit.Reason);
        Assert.Equal(VmExit.Success, exited.Exit.ExitCode);
    }

    [Fact]
    public void Only_a_linux_guest_is_ended_when_every_vcpu_halts()
    {
        var linux = new VmDefinition("linux", MemorySize, 1, new LinuxBoot(TestBzImage.Build(), null, string.Empty), [], ConsoleTarget.None);
        var flat = linux with { Boot = new FlatBinaryBoot(IoGuests.HaltForever()) };
        byte[] image = IoGuests.HaltForever();
        var converted = linux with { Boot = image };

        Assert.True(linux.Spec.StopWhenHalted);
        Assert.False(flat.Spec.StopWhenHalted);
        Assert.Equal(new FlatBinaryBoot(image), converted.Boot);
        Assert.Null(BootSource.FromImage(null));
    }
}
