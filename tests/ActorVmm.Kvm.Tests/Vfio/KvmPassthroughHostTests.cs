using ActorVmm.Kvm.Tests.Routing;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Memory;
using static ActorVmm.Kvm.Interop.KvmConstants;

namespace ActorVmm.Kvm.Tests.Vfio;

/// <summary>Device memory slots, resampling irqfds and exposed MSI routes, against a fake VM fd.</summary>
public sealed class KvmPassthroughHostTests
{
    private const ulong RamSize = 0x10_0000;
    private const ulong BarAddress = 0xFE00_0000;
    private const ulong Page = GuestMemoryRegion.PageSize;
    private const int Gsi = 16;

    private static (KvmPassthroughHost Host, FakeKvmVmKernel Kernel, GuestMemory Memory) Create()
    {
        var kernel = new FakeKvmVmKernel();
        var memory = GuestMemory.Create(RamSize);
        return (new KvmPassthroughHost(kernel, new KvmInterruptRouter(kernel, 4096), memory), kernel, memory);
    }

    [Fact]
    public void Device_memory_becomes_a_slot_numbered_apart_from_guest_memory_and_disposing_deletes_it_and_frees_the_number()
    {
        var (host, kernel, memory) = Create();
        using (memory)
        {
            nint hostAddress = memory.Regions[0].HostAddress; // any page-aligned host address stands for an mmapped BAR
            var first = host.MapDeviceMemory(BarAddress, 4 * Page, hostAddress);
            var second = host.MapDeviceMemory(BarAddress + (8 * Page), Page, hostAddress);
            first.Dispose();
            first.Dispose();
            using var third = host.MapDeviceMemory(BarAddress + (16 * Page), Page, hostAddress);
            second.Dispose();

            // GuestMemory numbers guest RAM and device RAM (a framebuffer) from 0; passthrough slots start above them.
            const uint slot = KvmPassthroughHost.FirstSlot;
            Assert.True(memory.Regions.Max(r => r.Slot) < slot);
            Assert.Equal(
                [(slot, BarAddress, 4 * Page), (slot + 1, BarAddress + (8 * Page), Page), (slot, BarAddress, 0UL),
                 (slot, BarAddress + (16 * Page), Page), (slot + 1, BarAddress + (8 * Page), 0UL)],
                kernel.MemoryRegions.Select(r => (r.slot, r.guest_phys_addr, r.memory_size)));
        }
    }

    [Fact]
    public void Device_memory_over_guest_ram_or_off_a_page_boundary_is_refused_before_the_kernel_sees_it()
    {
        var (host, kernel, memory) = Create();
        using (memory)
        {
            nint hostAddress = memory.Regions[0].HostAddress;
            Assert.Throws<ArgumentException>(() => host.MapDeviceMemory(RamSize - Page, 2 * Page, hostAddress));
            Assert.Throws<ArgumentException>(() => host.MapDeviceMemory(BarAddress + 0x10, Page, hostAddress));
            Assert.Throws<ArgumentException>(() => host.MapDeviceMemory(BarAddress, Page / 2, hostAddress));
            Assert.Empty(kernel.MemoryRegions);
        }
    }

    [Fact]
    public void A_level_irqfd_is_assigned_with_its_resample_fd_and_deassigned_on_dispose()
    {
        var (host, kernel, memory) = Create();
        using (memory)
        {
            var irq = host.CreateLevelIrqFd(Gsi);
            var assign = Assert.Single(kernel.IrqFds);
            Assert.Equal(((uint)irq.TriggerFd, (uint)Gsi, KVM_IRQFD_FLAG_RESAMPLE, (uint)irq.ResampleFd), (assign.fd, assign.gsi, assign.flags, assign.resamplefd));
            Assert.NotEqual(irq.TriggerFd, irq.ResampleFd);

            irq.Dispose();
            Assert.Equal(KVM_IRQFD_FLAG_DEASSIGN, kernel.IrqFds[^1].flags);
            Assert.Equal((uint)Gsi, kernel.IrqFds[^1].gsi);
            Assert.Throws<ArgumentOutOfRangeException>(() => host.CreateLevelIrqFd(KvmGsiRoutingTable.IrqchipGsis));
        }
    }

    [Fact]
    public void An_msi_route_exposes_the_eventfd_its_irqfd_listens_on()
    {
        var (host, kernel, memory) = Create();
        using (memory)
        {
            using var route = host.CreateEventFdMsiRoute(new MsiMessage(MsiMessage.AddressBase, 0x41));
            var irqfd = Assert.Single(kernel.IrqFds);
            Assert.Equal((uint)route.EventFd, irqfd.fd);
            Assert.Contains(kernel.LastTable, e => e.gsi == irqfd.gsi && e.type == KVM_IRQ_ROUTING_MSI && e.u.msi.data == 0x41);
        }
    }
}
