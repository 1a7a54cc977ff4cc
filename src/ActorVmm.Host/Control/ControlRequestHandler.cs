using ActorVmm.Host.Vms;

namespace ActorVmm.Host.Control;

/// <summary>Carries out control requests against the host's VMs; transport-free so it is tested directly.</summary>
public sealed class ControlRequestHandler
{
    private readonly IVmFleet _fleet;
    private readonly int _processId;

    /// <summary>Creates a handler over a fleet; <paramref name="processId"/> is reported as each VM's host.</summary>
    public ControlRequestHandler(IVmFleet fleet, int processId)
    {
        _fleet = fleet ?? throw new ArgumentNullException(nameof(fleet));
        _processId = processId;
    }

    /// <summary>Handles one request line and returns the response (never throws for bad requests).</summary>
    public async Task<ControlResponse> HandleAsync(string line)
    {
        var request = ControlProtocol.ParseRequest(line);
        if (request is null || string.IsNullOrEmpty(request.Command))
        {
            return ControlResponse.Failure("malformed request: expected one JSON object like {\"command\":\"list\"} per line");
        }

        if (request.Command == "list")
        {
            var all = _fleet.Vms;
            await Task.WhenAll(all.Select(v => v.RefreshAsync()));
            return new ControlResponse(true, Vms: [.. all.Select(Describe)]);
        }

        if (!ControlProtocol.Commands.Contains(request.Command))
        {
            return ControlResponse.Failure($"unknown command '{request.Command}': expected {string.Join(", ", ControlProtocol.Commands)}");
        }

        if (string.IsNullOrEmpty(request.Name))
        {
            return ControlResponse.Failure($"'{request.Command}' needs a VM name");
        }

        var vm = _fleet.Find(request.Name);
        if (vm is null)
        {
            return ControlResponse.Failure($"no VM called '{request.Name}' in this host");
        }

        bool finished = vm.Completion.IsCompleted;
        switch (request.Command)
        {
            case "pause" or "resume" or "stop" when finished:
                return ControlResponse.Failure($"VM '{vm.Name}' has already ended ({vm.State.ToString().ToLowerInvariant()})");
            case "pause":
                await vm.PauseAsync();
                break;
            case "resume":
                await vm.ResumeAsync();
                break;
            case "stop":
                await vm.StopAsync();
                break;
        }

        await vm.RefreshAsync();
        return new ControlResponse(true, Vms: [Describe(vm)]);
    }

    /// <summary>The protocol's view of a VM.</summary>
    public VmStatus Describe(IVmHandle vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        var counters = vm.Counters;
        var pci = vm.PciFunctions;
        return new VmStatus(vm.Name, vm.State.ToString().ToLowerInvariant(), vm.Backend, vm.MemorySize, vm.VcpuCount, counters.Exits, counters.Restarts, _processId, pci.Count == 0 ? null : pci);
    }
}
