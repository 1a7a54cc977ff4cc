using Microsoft.Extensions.Hosting;

namespace ActorVmm.Host.Hosting;

/// <summary>
/// The host's lifetime is the command's: it neither prints status lines on stdout (the guest
/// console's) nor handles Ctrl-C itself. The commands catch SIGINT/SIGTERM, stop their VMs
/// cleanly, restore the terminal, and then stop the host.
/// </summary>
internal sealed class CommandLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
