using System.Collections.Concurrent;
using System.Diagnostics;
using ActorVmm.Actors.Console;
using ActorVmm.Actors.Vm;
using ActorVmm.Devices.Platforms;
using ActorVmm.Host.Devices;
using Akka.Actor;

namespace ActorVmm.Host.Vms.Actors;

/// <summary>
/// <see cref="IVmFleet"/> over the actor layer: each VM is a <see cref="VmActor"/> under the host's
/// <see cref="VmManager"/>, with its devices supervised by its DeviceSupervisor and its console
/// written by its ConsoleSinkActor. This is how <c>actorvmm run</c> and <c>fleet</c> run VMs.
/// </summary>
public sealed class ActorVmFleet : IVmFleet
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(30);
    private readonly ActorSystem _system;
    private readonly IActorRef _manager;
    private readonly ConcurrentDictionary<string, ActorVm> _byName = new(StringComparer.Ordinal);
    private readonly List<ActorVm> _ordered = [];
    private readonly Lock _orderLock = new();

    /// <summary>Creates the fleet over the host's VM manager.</summary>
    /// <param name="system">The actor system the manager runs in (to watch each VM's actor).</param>
    /// <param name="manager">The <see cref="VmManager"/>. Each VM gets the default x86 platform, which leaves out the PIC and PIT where the backend has them in the kernel.</param>
    public ActorVmFleet(ActorSystem system, IActorRef manager)
    {
        _system = system ?? throw new ArgumentNullException(nameof(system));
        _manager = manager ?? throw new ArgumentNullException(nameof(manager));
    }

    /// <inheritdoc />
    public IReadOnlyList<IVmHandle> Vms
    {
        get
        {
            lock (_orderLock)
            {
                return [.. _ordered];
            }
        }
    }

    /// <inheritdoc />
    public IVmHandle? Find(string name) => _byName.GetValueOrDefault(name);

    /// <inheritdoc />
    public async Task<IVmHandle> LaunchAsync(VmLaunchSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        long created = Stopwatch.GetTimestamp();
        var probe = new FirstExitProbe();
        var console = spec.Console is null
            ? ConsoleTarget.None
            : new ConsoleTarget("console", () => new NonClosingStream(spec.Console));
        var definition = new VmDefinition(
            spec.Name,
            spec.MemorySize,
            spec.VcpuCount,
            spec.Boot,
            [],
            console,
            spec.Reboot ? ResetAction.Reboot : ResetAction.Stop,
            Platform: new ProbedPlatform(X86Platform.Default, probe),
            DebugIoport: spec.DebugIoport,
            DebugMmio: spec.DebugMmio);
        var vm = new ActorVm(_system, _manager, definition, created, probe);
        if (!_byName.TryAdd(spec.Name, vm))
        {
            throw new VmLaunchException($"a VM called '{spec.Name}' already exists");
        }

        object answer;
        try
        {
            answer = await _manager.Ask(new VmManagerProtocol.CreateVm(definition), AskTimeout, cancellationToken);
        }
        catch (AskTimeoutException ex)
        {
            _byName.TryRemove(spec.Name, out _);
            throw new VmLaunchException($"cannot create VM '{spec.Name}': the VM manager did not answer", ex);
        }

        if (answer is VmManagerProtocol.VmRejected rejected)
        {
            _byName.TryRemove(spec.Name, out _);
            throw new VmLaunchException($"cannot create VM '{spec.Name}': {rejected.Reason}");
        }

        lock (_orderLock)
        {
            _ordered.Add(vm);
        }

        vm.Watch();
        return vm;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(Vms.Where(v => !v.Completion.IsCompleted).Select(v => v.StopAsync()));
    }

    /// <summary>A stream view that leaves the underlying stream open when the console sink disposes it.</summary>
    private sealed class NonClosingStream(Stream inner) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
