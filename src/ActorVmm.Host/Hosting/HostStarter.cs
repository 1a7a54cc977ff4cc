using System.Net.Sockets;
using ActorVmm.Host.Cli;
using Microsoft.Extensions.Hosting;

namespace ActorVmm.Host.Hosting;

/// <summary>Starts the generic host, turning environment failures (control socket directory, bind) into one clear line.</summary>
public static class HostStarter
{
    /// <summary>Starts <paramref name="host"/>; returns null on success, else the exit code after printing why.</summary>
    public static async Task<int?> TryStartAsync(IHost host, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(error);
        try
        {
            await host.StartAsync();
            return null;
        }
        catch (Exception ex) when (ex is IOException or SocketException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync($"actorvmm: cannot start the host: {ex.Message}");
            return ExitCodes.Unavailable;
        }
    }
}
