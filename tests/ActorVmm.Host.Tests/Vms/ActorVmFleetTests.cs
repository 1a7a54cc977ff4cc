using ActorVmm.Actors.Hosting;
using ActorVmm.Actors.Vm;
using ActorVmm.Host.Vms;
using ActorVmm.Host.Vms.Actors;
using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Vcpu;
using Akka.Actor;

namespace ActorVmm.Host.Tests.Vms;

/// <summary>The fleet when a VM's actor fails: the VM ends as failed, the host never waits forever.</summary>
public sealed class ActorVmFleetTests : IAsyncLifetime
{
    private static readonly TimeSpan EndWait = TimeSpan.FromSeconds(20);
    private ActorSystem _system = null!;

    public Task InitializeAsync()
    {
        _system = ActorSystem.Create("fleet-test", ActorVmmConfig.Load());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _system.Terminate();

    [Fact]
    public async Task A_vm_whose_guest_ram_cannot_be_mapped_ends_as_failed_instead_of_hanging()
    {
        using var hypervisor = new UnmappableHypervisor();
        var manager = _system.ActorOf(VmManager.Props(hypervisor), "vms");
        var fleet = new ActorVmFleet(_system, manager);

        var vm = await fleet.LaunchAsync(new VmLaunchSpec("no-ram", 1024 * 1024, 1, new FlatBinaryBoot(new byte[] { 0xF4 }), null), CancellationToken.None);
        var ended = await Task.WhenAny(vm.Completion, Task.Delay(EndWait));

        Assert.True(ended == vm.Completion, $"the VM did not end within {EndWait.TotalSeconds} s after its actor failed");
        var outcome = await vm.Completion;
        Assert.True(outcome.IsFailure, $"outcome {outcome}");
        Assert.Equal(Host.Vms.VmState.Failed, vm.State);
    }

    /// <summary>A backend whose guest RAM mmap fails, as under an address-space limit.</summary>
    private sealed class UnmappableHypervisor : IHypervisor
    {
        public string Name => "unmappable";

        public IVirtualMachine CreateVm(VmSpec spec) =>
            throw new OutOfMemoryException($"mmap of {spec.MemorySize} bytes of guest RAM failed: Cannot allocate memory");

        public void Dispose()
        {
        }
    }
}
