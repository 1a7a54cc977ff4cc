using System.Runtime.InteropServices;
using ActorVmm.Kvm.Interop;
using ActorVmm.Kvm.Vfio;
using ActorVmm.Machine.Passthrough;
using static ActorVmm.Kvm.Interop.VfioConstants;
using static ActorVmm.Machine.Passthrough.VfioPciIndexes;

namespace ActorVmm.Kvm.Tests.Vfio;

public sealed class VfioHostDeviceTests
{
    private static readonly VfioPciAddress Edu = new(0, 0, 3, 0);
    private static readonly (ulong, nint, ulong)[] Ram = [(0, unchecked((nint)0x7F00_0000_0000), 0x800_0000), (0x1_0000_0000, unchecked((nint)0x7F10_0000_0000), 0x100_0000)];

    [Fact]
    public void Opening_follows_the_vfio_order_and_maps_every_ram_window_for_dma()
    {
        var kernel = new FakeVfioKernel();
        using var device = VfioHostDevice.Open(kernel, Edu, Ram);

        Assert.Equal(
            [nameof(VfioIoctls.VFIO_GET_API_VERSION), nameof(VfioIoctls.VFIO_CHECK_EXTENSION), nameof(VfioIoctls.VFIO_GROUP_GET_STATUS),
             nameof(VfioIoctls.VFIO_GROUP_SET_CONTAINER), nameof(VfioIoctls.VFIO_SET_IOMMU), nameof(VfioIoctls.VFIO_IOMMU_MAP_DMA),
             nameof(VfioIoctls.VFIO_IOMMU_MAP_DMA), nameof(VfioIoctls.VFIO_GROUP_GET_DEVICE_FD), nameof(VfioIoctls.VFIO_DEVICE_GET_INFO)],
            kernel.Calls);
        Assert.Equal([VfioHostDevice.ContainerPath, "/dev/vfio/7"], kernel.Opened);
        Assert.Equal(7, device.Group);
        Assert.True(device.Info.IsPci && device.Info.CanReset);
        Assert.Equal(
            [(0UL, 0x7F00_0000_0000UL, 0x800_0000UL), (0x1_0000_0000UL, 0x7F10_0000_0000UL, 0x100_0000UL)],
            kernel.DmaMaps.Select(m => (m.iova, m.vaddr, m.size)));
        Assert.All(kernel.DmaMaps, m => Assert.Equal(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE, m.flags));
    }

    [Fact]
    public void Disposing_unmaps_every_dma_window_once()
    {
        var kernel = new FakeVfioKernel();
        var device = VfioHostDevice.Open(kernel, Edu, Ram);

        device.Dispose();
        device.Dispose();

        Assert.Equal([(0UL, 0x800_0000UL), (0x1_0000_0000UL, 0x100_0000UL)], kernel.DmaUnmaps.Select(u => (u.iova, u.size)));
        Assert.All(kernel.DmaUnmaps, u => Assert.Equal(0u, u.flags));
    }

    [Fact]
    public void A_missing_device_says_to_pick_one_from_lspci()
    {
        var error = Assert.Throws<VfioSetupException>(() => VfioHostDevice.Open(new FakeVfioKernel(), new VfioPciAddress(0, 0, 9, 0), Ram));
        Assert.Contains("lspci -D", error.Message);
    }

    [Fact]
    public void No_iommu_group_says_to_enable_the_iommu()
    {
        var kernel = new FakeVfioKernel();
        kernel.Links.Remove($"/sys/bus/pci/devices/{FakeVfioKernel.Address}/iommu_group");
        var error = Assert.Throws<VfioSetupException>(() => VfioHostDevice.Open(kernel, Edu, Ram));
        Assert.Contains("intel_iommu=on", error.Message);
        Assert.Empty(kernel.Opened);
    }

    [Fact]
    public void A_container_without_a_type1_iommu_is_refused_as_no_iommu()
    {
        var kernel = new FakeVfioKernel { HasType1 = false };
        var error = Assert.Throws<VfioSetupException>(() => VfioHostDevice.Open(kernel, Edu, Ram));
        Assert.StartsWith("no IOMMU", error.Message);
        Assert.DoesNotContain(nameof(VfioIoctls.VFIO_SET_IOMMU), kernel.Calls);
    }

    [Fact]
    public void A_device_bound_to_another_driver_is_told_how_to_bind_it_to_vfio_pci()
    {
        var kernel = new FakeVfioKernel();
        kernel.Links[$"/sys/bus/pci/devices/{FakeVfioKernel.Address}/driver"] = "../../../bus/pci/drivers/edu";
        var error = Assert.Throws<VfioSetupException>(() => VfioHostDevice.Open(kernel, Edu, Ram));
        Assert.Contains("driver 'edu'", error.Message);
        Assert.Contains("echo 1234 11e8 > /sys/bus/pci/drivers/vfio-pci/new_id", error.Message);
    }

    [Fact]
    public void A_group_that_is_not_viable_names_the_other_devices_and_their_drivers()
    {
        var kernel = new FakeVfioKernel { GroupFlags = 0 };
        kernel.Directories["/sys/kernel/iommu_groups/7/devices"] = [FakeVfioKernel.Address, "0000:00:04.0"];
        kernel.Links["/sys/bus/pci/devices/0000:00:04.0/driver"] = "../../../bus/pci/drivers/e1000e";
        var error = Assert.Throws<VfioSetupException>(() => VfioHostDevice.Open(kernel, Edu, Ram));
        Assert.Contains("not viable", error.Message);
        Assert.Contains("0000:00:04.0 (e1000e)", error.Message);
        Assert.DoesNotContain(nameof(VfioIoctls.VFIO_GROUP_SET_CONTAINER), kernel.Calls);
    }

    [Fact]
    public void A_busy_group_or_device_is_reported_as_in_use()
    {
        var busyGroup = new FakeVfioKernel();
        busyGroup.OpenErrors["/dev/vfio/7"] = Libc.EBUSY;
        Assert.Contains("already in use", Assert.Throws<VfioSetupException>(() => VfioHostDevice.Open(busyGroup, Edu, Ram)).Message);

        var busyDevice = new FakeVfioKernel { DeviceFdErrno = Libc.EBUSY };
        Assert.Contains("already in use", Assert.Throws<VfioSetupException>(() => VfioHostDevice.Open(busyDevice, Edu, Ram)).Message);
    }

    [Fact]
    public void A_missing_container_says_to_load_the_vfio_modules()
    {
        var kernel = new FakeVfioKernel();
        kernel.OpenErrors[VfioHostDevice.ContainerPath] = Libc.ENOENT;
        Assert.Contains("modprobe vfio", Assert.Throws<VfioSetupException>(() => VfioHostDevice.Open(kernel, Edu, Ram)).Message);
    }

    [Fact]
    public void A_device_vfio_does_not_call_pci_is_refused()
    {
        var kernel = new FakeVfioKernel { DeviceFlags = VFIO_DEVICE_FLAGS_RESET };
        Assert.Contains("not a PCI device", Assert.Throws<VfioSetupException>(() => VfioHostDevice.Open(kernel, Edu, Ram)).Message);
    }

    [Fact]
    public void Region_info_reads_the_sparse_mmap_areas_from_the_capability_chain_after_growing_the_buffer()
    {
        var kernel = new FakeVfioKernel();
        kernel.Regions[VFIO_PCI_BAR0_REGION_INDEX] = (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP, 0x10000, 0x0, [(0x0, 0x3000), (0x4000, 0xC000)]);
        kernel.Regions[VFIO_PCI_CONFIG_REGION_INDEX] = (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE, 0x100, 0x70000000000, null);
        using var device = VfioHostDevice.Open(kernel, Edu, Ram);
        kernel.Calls.Clear();

        var bar0 = device.GetRegionInfo(VFIO_PCI_BAR0_REGION_INDEX);
        var config = device.GetRegionInfo(VFIO_PCI_CONFIG_REGION_INDEX);

        // BAR0's chain does not fit the fixed part: one call to learn argsz, one with room; the config region needs one.
        Assert.Equal(3, kernel.Calls.Count(c => c == nameof(VfioIoctls.VFIO_DEVICE_GET_REGION_INFO)));
        Assert.Equal(VfioRegionFlags.Read | VfioRegionFlags.Write | VfioRegionFlags.Mmap, bar0.Flags);
        Assert.Equal([new VfioSparseArea(0, 0x3000), new VfioSparseArea(0x4000, 0xC000)], bar0.MappableAreas);
        Assert.Null(config.SparseAreas);
        Assert.Empty(config.MappableAreas);
        Assert.Equal((0x100UL, 0x70000000000UL), (config.Size, config.Offset));
    }

    [Fact]
    public void Set_irqs_passes_eventfds_as_the_kernel_reads_them_and_disable_sends_data_none()
    {
        var kernel = new FakeVfioKernel();
        using var device = VfioHostDevice.Open(kernel, Edu, Ram);

        device.SetIrqTriggers(VFIO_PCI_MSIX_IRQ_INDEX, 0, [41, 42, -1]);
        device.SetIrqUnmaskFd(VFIO_PCI_INTX_IRQ_INDEX, 43);
        device.DisableIrqs(VFIO_PCI_MSIX_IRQ_INDEX);

        Assert.Equal(3, kernel.IrqSets.Count);
        var (trigger, fds) = kernel.IrqSets[0];
        Assert.Equal((VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, (uint)VFIO_PCI_MSIX_IRQ_INDEX, 0u, 3u), (trigger.flags, trigger.index, trigger.start, trigger.count));
        Assert.Equal([41, 42, -1], fds);
        Assert.Equal((VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK, (uint)VFIO_PCI_INTX_IRQ_INDEX), (kernel.IrqSets[1].Header.flags, kernel.IrqSets[1].Header.index));
        Assert.Equal([43], kernel.IrqSets[1].Fds);
        Assert.Equal((VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, 0u), (kernel.IrqSets[2].Header.flags, kernel.IrqSets[2].Header.count));
    }

    [Fact]
    public void Irq_info_and_reset_reach_the_device_fd()
    {
        var kernel = new FakeVfioKernel();
        using var device = VfioHostDevice.Open(kernel, Edu, Ram);

        var intx = device.GetIrqInfo(VFIO_PCI_INTX_IRQ_INDEX);
        var msi = device.GetIrqInfo(VFIO_PCI_MSI_IRQ_INDEX);
        device.Reset();

        Assert.Equal(new VfioIrqInfo(VFIO_PCI_INTX_IRQ_INDEX, VfioIrqFlags.EventFd | VfioIrqFlags.Maskable | VfioIrqFlags.AutoMasked, 1), intx);
        Assert.Equal(4, msi.Count);
        Assert.Contains(nameof(VfioIoctls.VFIO_DEVICE_RESET), kernel.Calls);
        Assert.Equal(Marshal.SizeOf<vfio_irq_set>(), VfioHostDevice.BuildIrqSet(0, 0, VFIO_IRQ_SET_DATA_NONE, []).Length);
    }
}
