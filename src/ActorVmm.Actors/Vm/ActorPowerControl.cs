using ActorVmm.Devices;
using Akka.Actor;

namespace ActorVmm.Actors.Vm;

/// <summary>Guest power requests as devices see them: a Tell to the VM actor, safe on vCPU threads.</summary>
internal sealed class ActorPowerControl(IActorRef vm, int generation) : IVmPowerRequests
{
    public void RequestStop(int exitStatus, PowerRequestSource source) =>
        vm.Tell(new VmProtocol.GuestPowerRequest(generation, PowerRequestKind.Exit, exitStatus, source), ActorRefs.NoSender);

    public void RequestReset(PowerRequestSource source) =>
        vm.Tell(new VmProtocol.GuestPowerRequest(generation, PowerRequestKind.Reset, 0, source), ActorRefs.NoSender);
}
