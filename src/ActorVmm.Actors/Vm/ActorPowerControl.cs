using ActorVmm.Actors.Devices;
using Akka.Actor;

namespace ActorVmm.Actors.Vm;

/// <summary>Guest power requests as devices see them: a Tell to the VM actor, safe on vCPU threads.</summary>
internal sealed class ActorPowerControl(IActorRef vm, int generation) : IGuestPowerControl
{
    public void RequestExit(int status) =>
        vm.Tell(new VmProtocol.GuestPowerRequest(generation, PowerRequestKind.Exit, status), ActorRefs.NoSender);

    public void RequestReset() =>
        vm.Tell(new VmProtocol.GuestPowerRequest(generation, PowerRequestKind.Reset, 0), ActorRefs.NoSender);
}
