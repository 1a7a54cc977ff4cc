using System.Runtime.InteropServices;
using ActorVmm.Kvm.Interop;

namespace ActorVmm.Kvm.Tests.Routing;

/// <summary>
/// A fake VM fd: records every interrupt and eventfd ioctl, decoding KVM_SET_GSI_ROUTING's buffer the
/// way the kernel reads it (a struct kvm_irq_routing header, then nr entries) through the header-checked structs.
/// </summary>
internal sealed class FakeKvmVmKernel : IKvmVmKernel
{
    private readonly Lock _lock = new();

    public List<(int Gsi, bool Level)> IrqLines { get; } = [];

    public List<kvm_msi> Msis { get; } = [];

    /// <summary>What KVM_SIGNAL_MSI returns (1: delivered to one vCPU; 0: blocked).</summary>
    public int MsiResult { get; set; } = 1;

    public List<kvm_irq_routing_entry[]> RoutingTables { get; } = [];

    public List<kvm_irqfd> IrqFds { get; } = [];

    public List<kvm_ioeventfd> IoEventFds { get; } = [];

    public List<kvm_userspace_memory_region> MemoryRegions { get; } = [];

    /// <summary>When set, the next KVM_SET_GSI_ROUTING fails with this errno.</summary>
    public int? FailNextRoutingWith { get; set; }

    public kvm_irq_routing_entry[] LastTable => RoutingTables[^1];

    public void SetIrqLine(int gsi, bool asserted)
    {
        lock (_lock)
        {
            IrqLines.Add((gsi, asserted));
        }
    }

    public int SignalMsi(in kvm_msi msi)
    {
        lock (_lock)
        {
            Msis.Add(msi);
            return MsiResult;
        }
    }

    public void SetGsiRouting(ReadOnlySpan<byte> routing)
    {
        if (FailNextRoutingWith is { } errno)
        {
            FailNextRoutingWith = null;
            throw new KvmIoctlException(nameof(KvmIoctls.KVM_SET_GSI_ROUTING), errno);
        }

        var header = MemoryMarshal.Read<kvm_irq_routing>(routing);
        Assert.Equal(0u, header.flags);
        int headerSize = Marshal.SizeOf<kvm_irq_routing>();
        Assert.Equal(headerSize + ((int)header.nr * Marshal.SizeOf<kvm_irq_routing_entry>()), routing.Length);
        var entries = MemoryMarshal.Cast<byte, kvm_irq_routing_entry>(routing[headerSize..]).ToArray();
        lock (_lock)
        {
            RoutingTables.Add(entries);
        }
    }

    public void IrqFd(in kvm_irqfd request)
    {
        lock (_lock)
        {
            IrqFds.Add(request);
        }
    }

    public void IoEventFd(in kvm_ioeventfd request)
    {
        lock (_lock)
        {
            IoEventFds.Add(request);
        }
    }

    public void SetUserMemoryRegion(in kvm_userspace_memory_region region)
    {
        lock (_lock)
        {
            MemoryRegions.Add(region);
        }
    }

    /// <summary>Does what the kernel does when the guest hits an ioeventfd: adds one to the eventfd's counter.</summary>
    public static void SignalEventFd(int fd)
    {
        using var handle = SafeFdHandle.Borrow(fd);
        Assert.Equal(sizeof(ulong), (int)Libc.write(handle, 1UL, sizeof(ulong)));
    }
}
