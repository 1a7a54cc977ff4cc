using ActorVmm.Emulator.Cpu;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ActorVmm.Emulator;

/// <summary>
/// A VM on the software backend: guest RAM laid out by the spec's memory map, the trap table and dispatcher, and one interpreter
/// core per vCPU, each on its own <see cref="VcpuThread"/> with its own local APIC; the boot vCPU runs from its
/// entry state, the others wait for INIT and a start-up IPI unless given one. The emulator's irqchip is the APIC
/// bus (local APICs and IOAPIC, <see cref="Apic.ApicBus"/>); the userspace 8259 pair is attached with
/// <see cref="AttachInterruptController"/> and reaches every vCPU whose LVT LINT0 is unmasked ExtINT (the boot vCPU
/// after reset).
/// </summary>
public sealed class EmulatorVm : IVirtualMachine
{
    /// <summary>GSIs of an emulated VM: as many as the IOAPIC has pins (0–15 reach the 8259 too).</summary>
    public const int GsiCount = 24;

    /// <summary>Highest ISA/GSI line number served by <see cref="GetInterruptLine"/>.</summary>
    public const int MaxIrq = GsiCount - 1;

    private readonly EmulatorMachine _machine;
    private readonly VcpuThread[] _vcpus;
    private readonly X86Core[] _cores;
    private readonly EmulatorInterruptRouter _interrupts;
    private readonly ILogger _logger;
    private int _disposed;

    /// <summary>Creates the VM (vCPUs not started).</summary>
    /// <param name="spec">The VM.</param>
    /// <param name="loggerFactory">Loggers; none when null.</param>
    /// <param name="time">The time base of the TSC and the APIC timers (the PIT's too, through the VM actor); the system clock when null.</param>
    public EmulatorVm(VmSpec spec, ILoggerFactory? loggerFactory = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        loggerFactory ??= NullLoggerFactory.Instance;
        _logger = loggerFactory.CreateLogger<EmulatorVm>();
        Name = spec.Name;
        Layout = spec.Layout;
        Memory = GuestMemory.Create(Layout);
        Traps = new TrapTable(spec.VcpuCount);
        Dispatcher = new TrapDispatcher(Traps, loggerFactory.CreateLogger<TrapDispatcher>());
        _machine = new EmulatorMachine(Memory, Dispatcher, spec.VcpuCount, time);
        Memory.WriteObserver = _machine.Code;
        _cores = new X86Core[spec.VcpuCount];
        _vcpus = new VcpuThread[spec.VcpuCount];
        var vcpuLogger = loggerFactory.CreateLogger<VcpuThread>();
        for (int i = 0; i < spec.VcpuCount; i++)
        {
            _cores[i] = new X86Core(i, _machine) { CompileInBackground = X86Core.CompileInBackgroundByDefault };
            _vcpus[i] = new VcpuThread(_cores[i], spec.Name, vcpuLogger);
        }

        _machine.Bus.ConnectWake(id => _vcpus[id].Wake());
        _interrupts = new EmulatorInterruptRouter(_machine, GsiCount);
        _logger.LogInformation("Created emulated VM {Vm} with {Memory} bytes of RAM in {Slots} slots ({Map} map) and {Vcpus} vCPUs", Name, spec.MemorySize, Memory.Regions.Count, Layout.Map.Architecture, spec.VcpuCount);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public string Backend => EmulatorHypervisor.BackendName;

    /// <inheritdoc />
    public MemoryLayout Layout { get; }

    /// <inheritdoc />
    public GuestMemory Memory { get; }

    /// <inheritdoc />
    public TrapTable Traps { get; }

    /// <inheritdoc />
    public TrapDispatcher Dispatcher { get; }

    /// <inheritdoc />
    public IReadOnlyList<IVcpu> Vcpus => _vcpus;

    /// <inheritdoc />
    public bool HasInKernelIrqchip => false;

    /// <inheritdoc />
    public IInterruptRouter Interrupts => _interrupts;

    /// <inheritdoc />
    public IDoorbells Doorbells => _machine.Doorbells;

    /// <summary>IRQ level changes dropped because no interrupt controller was attached yet.</summary>
    public long DroppedIrqChanges => _interrupts.DroppedIrqChanges;

    /// <summary>MSIs, IOAPIC messages and IPIs that reached no local APIC.</summary>
    public long DroppedMsis => _interrupts.DroppedMsis;

    /// <summary>Doorbell callbacks that threw.</summary>
    public long FailedDoorbellCallbacks => _machine.Doorbells.FailedCallbacks;

    /// <summary>Instructions retired by each vCPU so far.</summary>
    public long InstructionsRetired(int vcpu) => _cores[vcpu].InstructionsRetired;

    internal X86Core Core(int vcpu) => _cores[vcpu];

    internal Apic.LocalApic Apic(int vcpu) => _machine.Apics[vcpu];

    internal Apic.ApicBus ApicBus => _machine.Bus;

    /// <inheritdoc />
    public IInterruptLine GetInterruptLine(int irq) => _interrupts.GetSource(irq, GsiSourceTable.HostOwner);

    /// <inheritdoc />
    public void AttachInterruptController(IInterruptController controller)
    {
        ArgumentNullException.ThrowIfNull(controller);
        if (_machine.Controller is not null)
        {
            throw new InvalidOperationException($"VM {Name} already has an interrupt controller");
        }

        controller.InterruptRequested += OnInterruptRequested;
        _machine.Controller = controller;
    }

    // The 8259's INTR is wired to every local APIC's LINT0; a vCPU takes it while LINT0 is unmasked ExtINT.
    private void OnInterruptRequested()
    {
        foreach (var apic in _machine.Apics)
        {
            if (apic.AcceptsExtInt)
            {
                _vcpus[apic.Id].Wake();
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (var vcpu in _vcpus)
        {
            vcpu.Dispose();
        }

        var controller = _machine.Controller;
        if (controller is not null)
        {
            controller.InterruptRequested -= OnInterruptRequested;
        }

        Memory.Dispose();
    }
}
