using ActorVmm.Kvm.Interop;
using ActorVmm.Machine.Interrupts;
using static ActorVmm.Kvm.Interop.KvmConstants;

namespace ActorVmm.Kvm.Tests.Routing;

/// <summary>Routing table building and the interrupt ioctls, against a fake VM fd.</summary>
public sealed class KvmInterruptRouterTests
{
    private const int KernelMaxRoutes = 4096; // KVM_MAX_IRQ_ROUTES on x86
    private const int IsaIrqs = 16;
    private const int PicPins = 8;
    private const byte Vector = 0x41;
    private const byte OtherVector = 0x42;
    private const int SharedGsi = 5;
    private const int DefaultEntries = IsaIrqs + KVM_IOAPIC_NUM_PINS; // an 8259 and an IOAPIC entry for 0–15, an IOAPIC entry for 16–23

    private static (KvmInterruptRouter Router, FakeKvmVmKernel Kernel) Create(int maxRoutes = KernelMaxRoutes)
    {
        var kernel = new FakeKvmVmKernel();
        return (new KvmInterruptRouter(kernel, maxRoutes), kernel);
    }

    private static void AssertKvmDefaultRoutes(kvm_irq_routing_entry[] table)
    {
        var irqchip = table.Where(e => e.type == KVM_IRQ_ROUTING_IRQCHIP).ToArray();
        Assert.Equal(DefaultEntries, irqchip.Length);
        for (int gsi = 0; gsi < KVM_IOAPIC_NUM_PINS; gsi++)
        {
            var routes = irqchip.Where(e => e.gsi == gsi).Select(e => (e.u.irqchip.irqchip, e.u.irqchip.pin)).ToArray();
            (uint, uint) ioapic = (KVM_IRQCHIP_IOAPIC, (uint)gsi);
            if (gsi < IsaIrqs)
            {
                (uint, uint) pic = (gsi < PicPins ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, (uint)(gsi % PicPins));
                Assert.Equal([ioapic, pic], routes);
            }
            else
            {
                Assert.Equal([ioapic], routes);
            }
        }
    }

    private static kvm_irq_routing_entry MsiEntry(kvm_irq_routing_entry[] table, int gsi) =>
        Assert.Single(table, e => e.gsi == gsi && e.type == KVM_IRQ_ROUTING_MSI);

    [Fact]
    public void Creating_a_route_keeps_kvms_default_irqchip_routes_and_adds_one_msi_entry_above_them_with_an_irqfd()
    {
        var (router, kernel) = Create();
        var message = MsiMessage.Fixed(1, Vector);

        var route = (KvmMsiRoute)router.CreateMsiRoute(message);

        var table = kernel.LastTable;
        Assert.Equal(DefaultEntries + 1, table.Length);
        AssertKvmDefaultRoutes(table);
        Assert.True(route.Gsi >= KVM_IOAPIC_NUM_PINS);
        var entry = MsiEntry(table, route.Gsi);
        Assert.Equal((message.AddressLow, message.AddressHigh, message.Data), (entry.u.msi.address_lo, entry.u.msi.address_hi, entry.u.msi.data));
        var irqfd = Assert.Single(kernel.IrqFds);
        Assert.Equal((uint)route.Gsi, irqfd.gsi);
        Assert.Equal(0u, irqfd.flags);
        Assert.Equal((uint)route.IrqFd.Handle.Fd, irqfd.fd);
    }

    [Fact]
    public void Updating_one_route_replaces_only_its_entry_in_a_whole_new_table()
    {
        var (router, kernel) = Create();
        var first = (KvmMsiRoute)router.CreateMsiRoute(MsiMessage.Fixed(0, Vector));
        var second = (KvmMsiRoute)router.CreateMsiRoute(MsiMessage.Fixed(1, Vector));
        var before = kernel.LastTable;

        first.Update(MsiMessage.Fixed(1, OtherVector));

        var after = kernel.LastTable;
        Assert.Equal(before.Length, after.Length);
        AssertKvmDefaultRoutes(after);
        Assert.Equal(before.Where(e => e.gsi != first.Gsi), after.Where(e => e.gsi != first.Gsi));
        var updated = MsiEntry(after, first.Gsi);
        Assert.Equal(MsiMessage.Fixed(1, OtherVector).AddressLow, updated.u.msi.address_lo);
        Assert.Equal((uint)OtherVector, updated.u.msi.data);
        Assert.Equal(MsiMessage.Fixed(1, OtherVector), first.Message);
        Assert.NotEqual(first.Gsi, second.Gsi);
    }

    [Fact]
    public void Disposing_a_route_deassigns_its_irqfd_then_removes_only_its_entry_and_the_gsi_is_reused()
    {
        var (router, kernel) = Create();
        var first = (KvmMsiRoute)router.CreateMsiRoute(MsiMessage.Fixed(0, Vector));
        var second = (KvmMsiRoute)router.CreateMsiRoute(MsiMessage.Fixed(1, Vector));
        int firstGsi = first.Gsi;

        first.Dispose();

        var deassign = kernel.IrqFds[^1];
        Assert.Equal((uint)firstGsi, deassign.gsi);
        Assert.Equal(KVM_IRQFD_FLAG_DEASSIGN, deassign.flags);
        var table = kernel.LastTable;
        Assert.Equal(DefaultEntries + 1, table.Length);
        Assert.DoesNotContain(table, e => e.gsi == firstGsi);
        MsiEntry(table, second.Gsi);
        var third = (KvmMsiRoute)router.CreateMsiRoute(MsiMessage.Fixed(0, Vector));
        Assert.Equal(firstGsi, third.Gsi);
        Assert.Equal(2, router.MsiRouteCount);
    }

    [Fact]
    public void Masking_a_route_deassigns_its_irqfd_keeping_the_eventfd_and_unmasking_assigns_the_same_eventfd_to_the_same_gsi()
    {
        var (router, kernel) = Create();
        var route = (KvmMsiRoute)router.CreateMsiRoute(MsiMessage.Fixed(1, Vector));
        var assign = kernel.IrqFds[^1];
        int tables = kernel.RoutingTables.Count;

        route.SetMasked(true);
        route.SetMasked(true);
        var deassign = kernel.IrqFds[^1];
        Assert.Equal((assign.fd, assign.gsi, KVM_IRQFD_FLAG_DEASSIGN), (deassign.fd, deassign.gsi, deassign.flags));
        Assert.Equal(2, kernel.IrqFds.Count);

        // What the device signals meanwhile stays in the eventfd, where KVM finds it when the irqfd is assigned again.
        route.Trigger();
        route.SetMasked(false);
        route.SetMasked(false);
        Assert.Equal(assign, kernel.IrqFds[^1]);
        Assert.Equal(3, kernel.IrqFds.Count);
        Assert.Equal(1UL, route.IrqFd.Consume());
        Assert.Equal(tables, kernel.RoutingTables.Count);
    }

    [Fact]
    public void Disposing_a_masked_route_does_not_deassign_its_irqfd_a_second_time()
    {
        var (router, kernel) = Create();
        var route = (KvmMsiRoute)router.CreateMsiRoute(MsiMessage.Fixed(1, Vector));
        route.SetMasked(true);
        int irqfds = kernel.IrqFds.Count;

        route.Dispose();

        Assert.Equal(irqfds, kernel.IrqFds.Count);
        Assert.Throws<ObjectDisposedException>(() => route.SetMasked(false));
        Assert.Equal(0, router.MsiRouteCount);
    }

    [Fact]
    public void Trigger_signals_the_irqfd_without_any_ioctl()
    {
        var (router, kernel) = Create();
        var route = (KvmMsiRoute)router.CreateMsiRoute(MsiMessage.Fixed(1, Vector));
        int tables = kernel.RoutingTables.Count;
        int irqfds = kernel.IrqFds.Count;

        route.Trigger();
        route.Trigger();

        Assert.Equal(2UL, route.IrqFd.Consume());
        Assert.Equal(tables, kernel.RoutingTables.Count);
        Assert.Equal(irqfds, kernel.IrqFds.Count);
        Assert.Empty(kernel.Msis);
    }

    [Fact]
    public void A_route_whose_message_lies_outside_the_interrupt_window_has_no_entry_until_a_valid_update()
    {
        var (router, kernel) = Create();
        var bad = new MsiMessage(0xFED0_0000, Vector);

        var route = (KvmMsiRoute)router.CreateMsiRoute(bad);

        Assert.DoesNotContain(kernel.LastTable, e => e.gsi == route.Gsi);
        Assert.Equal(bad, route.Message);
        route.Update(MsiMessage.Fixed(0, Vector));
        MsiEntry(kernel.LastTable, route.Gsi);
    }

    [Fact]
    public void A_refused_update_keeps_the_previous_message_in_the_route_and_the_table()
    {
        var (router, kernel) = Create();
        var route = (KvmMsiRoute)router.CreateMsiRoute(MsiMessage.Fixed(0, Vector));
        kernel.FailNextRoutingWith = Libc.E2BIG;

        Assert.Throws<KvmIoctlException>(() => route.Update(MsiMessage.Fixed(1, OtherVector)));

        Assert.Equal(MsiMessage.Fixed(0, Vector), route.Message);
        router.CreateMsiRoute(MsiMessage.Fixed(1, Vector));
        Assert.Equal((uint)Vector, MsiEntry(kernel.LastTable, route.Gsi).u.msi.data);
    }

    [Fact]
    public void When_kvms_route_limit_is_reached_another_route_is_refused_clearly_and_nothing_changes()
    {
        const int RoutesLeft = 2;
        var (router, kernel) = Create(DefaultEntries + RoutesLeft);
        for (int i = 0; i < RoutesLeft; i++)
        {
            router.CreateMsiRoute(MsiMessage.Fixed(0, Vector));
        }

        int tables = kernel.RoutingTables.Count;

        var error = Assert.Throws<InvalidOperationException>(() => router.CreateMsiRoute(MsiMessage.Fixed(0, Vector)));

        Assert.Contains("MSI routes", error.Message, StringComparison.Ordinal);
        Assert.Equal(tables, kernel.RoutingTables.Count);
        Assert.Equal(RoutesLeft, kernel.IrqFds.Count);
    }

    [Fact]
    public void Sources_sharing_a_gsi_issue_one_KVM_IRQ_LINE_per_change_of_their_or()
    {
        var (router, kernel) = Create();
        var a = router.GetSource(SharedGsi, "a");
        var b = router.GetSource(SharedGsi, "b");

        a.SetLevel(true);
        b.SetLevel(true);
        a.SetLevel(false);
        Assert.True(router.IsAsserted(SharedGsi));
        b.SetLevel(false);

        Assert.Equal([(SharedGsi, true), (SharedGsi, false)], kernel.IrqLines);
        Assert.Equal(KVM_IOAPIC_NUM_PINS, router.GsiCount);
    }

    [Fact]
    public void A_one_off_msi_goes_to_KVM_SIGNAL_MSI_and_reports_what_the_kernel_says()
    {
        var (router, kernel) = Create();
        var message = MsiMessage.Fixed(2, Vector);

        Assert.True(router.SignalMsi(message));
        kernel.MsiResult = 0;
        Assert.False(router.SignalMsi(message));

        Assert.Equal(2, kernel.Msis.Count);
        Assert.All(kernel.Msis, msi => Assert.Equal((message.AddressLow, message.AddressHigh, message.Data, 0u), (msi.address_lo, msi.address_hi, msi.data, msi.flags)));
        Assert.Equal(1, router.DroppedMsis);
    }

    [Fact]
    public void A_one_off_msi_outside_the_interrupt_window_never_reaches_the_kernel()
    {
        var (router, kernel) = Create();

        Assert.False(router.SignalMsi(new MsiMessage(0x1_FEE0_0000, Vector)));

        Assert.Empty(kernel.Msis);
        Assert.Equal(1, router.DroppedMsis);
    }

    [Fact]
    public void Disposing_the_router_disposes_every_live_route()
    {
        var (router, kernel) = Create();
        router.CreateMsiRoute(MsiMessage.Fixed(0, Vector));
        router.CreateMsiRoute(MsiMessage.Fixed(1, Vector));

        router.Dispose();

        Assert.Equal(0, router.MsiRouteCount);
        Assert.Equal(2, kernel.IrqFds.Count(f => (f.flags & KVM_IRQFD_FLAG_DEASSIGN) != 0));
        Assert.Equal(DefaultEntries, kernel.LastTable.Length);
    }
}
