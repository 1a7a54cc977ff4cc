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
    private readonly ConcurrentDictionary<int, FakeInterruptLine> _lines = new();

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

    public bool Disposed { get; private set; }

    public IInterruptLine GetInterruptLine(int irq) => _lines.GetOrAdd(irq, i => new FakeInterruptLine(i));

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

public sealed class FakeInterruptLine(int irq) : IInterruptLine
{
    public int Irq { get; } = irq;

    public int Pulses;

    public void SetLevel(bool asserted)
    {
    }

    public void Pulse() => Interlocked.Increment(ref Pulses);
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
