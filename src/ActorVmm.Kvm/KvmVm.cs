using ActorVmm.Kvm.Interop;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using Microsoft.Extensions.Logging;
using static ActorVmm.Kvm.Interop.KvmConstants;

namespace ActorVmm.Kvm;

/// <summary>
/// A KVM virtual machine: the VM fd with its TSS and identity-map pages, the in-kernel irqchip
/// (8259 pair, IOAPIC, local APICs) and PIT, guest RAM laid out by the spec's x86 memory map and registered as
/// memory slots (one host mapping, one KVM slot per RAM slot), the trap
/// table (coalesced regions mirrored into the kernel) and one <see cref="VcpuThread"/> per vCPU.
/// </summary>
public sealed class KvmVm : IVirtualMachine
{
    /// <summary>IRQ lines (GSIs) of the in-kernel irqchip (IOAPIC pins; 0–15 also reach the 8259 pair).</summary>
    public const int IrqLines = KvmGsiRoutingTable.IrqchipGsis;

    private readonly SafeFdHandle _vmFd;
    private readonly KvmVmFd _kernel;
    private readonly KvmInterruptRouter _interrupts;
    private readonly KvmDoorbells _doorbells;
    private readonly VcpuThread[] _vcpus;
    private readonly KvmHaltWatch? _haltWatch;
    private bool _disposed;

    internal KvmVm(KvmHypervisor hypervisor, VmSpec spec, ILoggerFactory loggerFactory)
    {
        if (spec.EffectiveMap is not X86MemoryMap)
        {
            throw new ArgumentException($"The KVM backend builds x86 machines; VM {spec.Name} asks for the {spec.EffectiveMap.Architecture} memory map");
        }

        Name = spec.Name;
        Layout = spec.Layout;
        var logger = loggerFactory.CreateLogger<KvmVm>();
        _vmFd = hypervisor.CreateVmFd();
        _kernel = new KvmVmFd(_vmFd);
        _interrupts = new KvmInterruptRouter(_kernel, hypervisor.MaxIrqRoutes);
        _doorbells = new KvmDoorbells(_kernel, () => EventFdPoller.Shared);
        var created = new List<IDisposable>();
        try
        {
            // The pages KVM keeps for itself on Intel sit in a window the map reserves for them.
            ulong identityMap = X86MemoryMap.KvmIdentityMapAddress;
            KvmCalls.Ioctl(_vmFd, KvmIoctls.KVM_SET_IDENTITY_MAP_ADDR, ref identityMap, nameof(KvmIoctls.KVM_SET_IDENTITY_MAP_ADDR));
            KvmCalls.Ioctl(_vmFd, KvmIoctls.KVM_SET_TSS_ADDR, unchecked((nint)X86MemoryMap.KvmTssAddress), nameof(KvmIoctls.KVM_SET_TSS_ADDR));
            KvmCalls.Ioctl(_vmFd, KvmIoctls.KVM_CREATE_IRQCHIP, 0, nameof(KvmIoctls.KVM_CREATE_IRQCHIP));
            var pit = new kvm_pit_config { flags = KVM_PIT_SPEAKER_DUMMY };
            KvmCalls.Ioctl(_vmFd, KvmIoctls.KVM_CREATE_PIT2, ref pit, nameof(KvmIoctls.KVM_CREATE_PIT2));

            Memory = GuestMemory.Create(Layout);
            created.Add(Memory);
            foreach (var region in Memory.Regions)
            {
                var slot = new kvm_userspace_memory_region
                {
                    slot = (uint)region.Slot,
                    guest_phys_addr = region.GuestPhysicalAddress,
                    memory_size = region.Size,
                    userspace_addr = (ulong)region.HostAddress,
                };
                KvmCalls.Ioctl(_vmFd, KvmIoctls.KVM_SET_USER_MEMORY_REGION, ref slot, nameof(KvmIoctls.KVM_SET_USER_MEMORY_REGION));
            }

            Traps = new TrapTable(spec.VcpuCount, new KvmCoalescingListener(_vmFd, hypervisor.HasCoalescedPio, loggerFactory.CreateLogger<KvmCoalescingListener>()));
            Dispatcher = new TrapDispatcher(Traps, loggerFactory.CreateLogger<TrapDispatcher>());

            _vcpus = new VcpuThread[spec.VcpuCount];
            var cores = new KvmVcpuCore[spec.VcpuCount];
            var ringDrainLock = new Lock();
            for (int id = 0; id < spec.VcpuCount; id++)
            {
                int fd = KvmCalls.Ioctl(_vmFd, KvmIoctls.KVM_CREATE_VCPU, id, nameof(KvmIoctls.KVM_CREATE_VCPU));
                var kernel = new KvmVcpuFd(new SafeFdHandle(fd), hypervisor.VcpuMmapSize, hypervisor.CoalescedMmioPageOffset);
                created.Add(kernel);
                var cpuid = KvmCpuid.ForVcpu(id, spec.VcpuCount, hypervisor.SupportedCpuid, hypervisor.HasTscDeadlineTimer);
                cores[id] = new KvmVcpuCore(id, kernel, Memory, Dispatcher, cpuid, hasIrqchip: true, ringDrainLock);
                _vcpus[id] = new VcpuThread(cores[id], spec.Name, loggerFactory.CreateLogger<VcpuThread>());
                created.Add(_vcpus[id]);
            }

            if (spec.StopWhenHalted)
            {
                _haltWatch = new KvmHaltWatch(cores, TimeProvider.System);
            }

            logger.LogInformation("KVM VM {Vm} created: {Memory} bytes of RAM in {Slots} slots, {Vcpus} vCPUs, coalesced PIO {CoalescedPio}", Name, spec.MemorySize, Memory.Regions.Count, spec.VcpuCount, hypervisor.HasCoalescedPio);
        }
        catch
        {
            for (int i = created.Count - 1; i >= 0; i--)
            {
                created[i].Dispose();
            }

            _vmFd.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public string Backend => "kvm";

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
    public bool HasInKernelIrqchip => true;

    /// <inheritdoc />
    public IInterruptRouter Interrupts => _interrupts;

    /// <inheritdoc />
    public IDoorbells Doorbells => _doorbells;

    /// <summary>One-off MSIs KVM reported as not delivered, or outside the interrupt window.</summary>
    public long DroppedMsis => _interrupts.DroppedMsis;

    /// <summary>Doorbell callbacks that threw.</summary>
    public long FailedDoorbellCallbacks => _doorbells.FailedCallbacks;

    /// <inheritdoc />
    public IInterruptLine GetInterruptLine(int irq) => _interrupts.GetSource(irq, GsiSourceTable.HostOwner);

    /// <inheritdoc />
    public void AttachInterruptController(IInterruptController controller) =>
        throw new InvalidOperationException("The KVM backend has an in-kernel 8259/IOAPIC; a userspace interrupt controller cannot be attached");

    /// <summary>
    /// KVM_IOEVENTFD: the kernel signals the returned eventfd when the guest writes
    /// <paramref name="length"/> bytes at <paramref name="address"/> (optionally only the value
    /// <paramref name="dataMatch"/>), and the write never exits to userspace. The raw form of a
    /// doorbell (<see cref="Doorbells"/>), for callers that read the eventfd themselves.
    /// </summary>
    public KvmEventFd RegisterIoEventFd(TrapBus bus, ulong address, int length, ulong? dataMatch = null) =>
        KvmDoorbells.RegisterIoEventFd(_kernel, bus, address, length, dataMatch);

    /// <summary>KVM_IRQFD: signalling the returned eventfd raises <paramref name="gsi"/> (0–23, an edge) without an ioctl.</summary>
    public KvmEventFd RegisterIrqFd(int gsi)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(gsi);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(gsi, IrqLines);
        var fd = KvmEventFd.Create();
        var request = new kvm_irqfd { fd = (uint)fd.Fd, gsi = (uint)gsi };
        try
        {
            _kernel.IrqFd(request);
        }
        catch
        {
            fd.Dispose();
            throw;
        }

        return new KvmEventFd(fd, _ =>
        {
            var deassign = request;
            deassign.flags |= KVM_IRQFD_FLAG_DEASSIGN;
            _kernel.IrqFd(deassign);
        });
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _haltWatch?.Dispose();
        foreach (var vcpu in _vcpus)
        {
            vcpu.Dispose();
        }

        // Doorbells leave the shared poller and routes drop their irqfds while the VM fd is still open.
        _doorbells.Dispose();
        _interrupts.Dispose();

        // The VM fd goes before guest RAM: the kernel must drop its slots before the pages vanish.
        _vmFd.Dispose();
        Memory.Dispose();
    }
}
