using System.Collections.Concurrent;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;

namespace ActorVmm.Actors.Tests.Fakes;

/// <summary>A VM with real RAM, trap table and dispatcher, and vCPUs running a scripted guest on real VcpuThreads.</summary>
public sealed class FakeVirtualMachine : IVirtualMachine
{
    public FakeVirtualMachine(VmSpec spec, FakeGuestProgram program)
    {
        Name = spec.Name;
        Layout = spec.Layout;
        Memory = GuestMemory.Create(Layout);
        Traps = new TrapTable(spec.VcpuCount);
        Dispatcher = new TrapDispatcher(Traps);
        Vcpus = [.. Enumerable.Range(0, spec.VcpuCount).Select(id => new VcpuThread(new FakeVcpuCore(id, Dispatcher, program), spec.Name))];
    }

    public string Name { get; }

    public string Backend => "fake";

    public MemoryLayout Layout { get; }

    public GuestMemory Memory { get; }

    public TrapTable Traps { get; }

    public TrapDispatcher Dispatcher { get; }

    public IReadOnlyList<IVcpu> Vcpus { get; }

    public bool HasInKernelIrqchip => false;

    public FakeInterruptRouter Interrupts { get; } = new();

    IInterruptRouter IVirtualMachine.Interrupts => Interrupts;

    public IDoorbells Doorbells { get; } = new DoorbellTable();

    public bool Disposed { get; private set; }

    public IInterruptLine GetInterruptLine(int irq) => Interrupts.GetSource(irq, GsiSourceTable.HostOwner);

    public void AttachInterruptController(IInterruptController controller)
    {
    }

    public void Dispose()
    {
        if (Disposed)
        {
            return;
        }

        Disposed = true;
        foreach (var vcpu in Vcpus)
        {
            ((VcpuThread)vcpu).Dispose();
        }

        Memory.Dispose();
    }
}

/// <summary>Real wired-OR GSIs whose combined levels are recorded; no MSI delivery (the fake VM has no APICs).</summary>
public sealed class FakeInterruptRouter : IInterruptRouter, IGsiSink
{
    private readonly GsiSourceTable _gsis;

    public FakeInterruptRouter() => _gsis = new GsiSourceTable(GsiCount, this);

    public int GsiCount => 24;

    public ConcurrentQueue<(int Gsi, bool Level)> Changes { get; } = new();

    public IInterruptLine GetSource(int gsi, string owner) => _gsis.GetSource(gsi, owner);

    public bool IsAsserted(int gsi) => _gsis.IsAsserted(gsi);

    public void SetGsiLevel(int gsi, bool asserted) => Changes.Enqueue((gsi, asserted));

    public bool SignalMsi(MsiMessage message) => false;

    public IMsiRoute CreateMsiRoute(MsiMessage message) => throw new NotSupportedException("The fake VM has no local APICs");
}

/// <summary>Creates fake VMs whose guest program is chosen by VM name.</summary>
public sealed class FakeHypervisor(Func<VmSpec, FakeGuestProgram> programs) : IHypervisor
{
    public ConcurrentBag<FakeVirtualMachine> Created { get; } = [];

    public string Name => "fake";

    public IVirtualMachine CreateVm(VmSpec spec)
    {
        var vm = new FakeVirtualMachine(spec, programs(spec));
        Created.Add(vm);
        return vm;
    }

    public void Dispose()
    {
    }
}
