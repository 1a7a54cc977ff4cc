using ActorVmm.Actors.Console;
using Akka.Actor;
using Microsoft.Extensions.Logging;

namespace ActorVmm.Actors.Vm;

/// <summary>
/// The VM actor's decider for its own children: a failed console sink is restarted (its buffer
/// outlives it, so no accepted byte is lost); anything else (a device supervisor bug) escalates,
/// which makes the manager stop this VM only.
/// </summary>
internal sealed class VmChildDecider(ILogger logger, string vmName) : IDecider
{
    public Directive Decide(Exception cause)
    {
        if (cause is ConsoleSinkException || cause.InnerException is ConsoleSinkException)
        {
            logger.LogWarning(cause, "Console sink of VM {Vm} failed; restarting it with its retained bytes", vmName);
            return Directive.Restart;
        }

        logger.LogError(cause, "A child of VM {Vm} failed; the VM fails with it", vmName);
        return Directive.Escalate;
    }
}
