using System.Diagnostics;
using System.Globalization;
using ActorVmm.Kvm.Interop;
using ActorVmm.Machine.Boot.Linux;
using ActorVmm.Machine.Passthrough;

namespace ActorVmm.Kvm.Tests.Interop;

public sealed class HeaderCheckTests
{
    private static readonly TimeSpan CompileTimeout = TimeSpan.FromMinutes(2);

    [Fact]
    public void Every_declared_struct_layout_constant_and_ioctl_number_matches_the_kernel_headers()
    {
        var fromC = CompileAndRun(CHeaderTable.GenerateCProgram());
        var mismatches = new List<string>();
        foreach (var entry in CHeaderTable.Entries)
        {
            if (!fromC.TryGetValue(entry.Key, out long cValue))
            {
                mismatches.Add($"{entry.Key}: not printed by the C program");
            }
            else if (cValue != entry.CSharpValue)
            {
                mismatches.Add($"{entry.Key}: C says {cValue} (0x{cValue:X}), C# says {entry.CSharpValue} (0x{entry.CSharpValue:X})");
            }
        }

        Assert.True(mismatches.Count == 0, "Interop declarations differ from the headers:\n" + string.Join('\n', mismatches));
    }

    [Theory]
    [InlineData("sizeof(struct kvm_run)")]
    [InlineData("offsetof(struct kvm_run, io.data_offset)")]
    [InlineData("offsetof(struct kvm_run, mmio.is_write)")]
    [InlineData("offsetof(struct kvm_run, immediate_exit)")]
    [InlineData("offsetof(struct kvm_run, system_event.flags)")]
    [InlineData("sizeof(struct kvm_sregs)")]
    [InlineData("sizeof(struct sigaction)")]
    [InlineData(nameof(KvmIoctls.KVM_RUN))]
    [InlineData(nameof(KvmIoctls.KVM_SET_USER_MEMORY_REGION))]
    [InlineData(nameof(KvmIoctls.KVM_GET_SUPPORTED_CPUID))]
    [InlineData(nameof(KvmConstants.KVM_CAP_COALESCED_PIO))]
    [InlineData(nameof(KvmConstants.KVM_EXIT_SYSTEM_EVENT))]
    [InlineData("offsetof(struct kvm_irq_routing_entry, u.msi)")]
    [InlineData("offsetof(struct kvm_irq_routing_entry, u.irqchip)")]
    [InlineData("sizeof(struct kvm_irq_routing_entry.u.pad)")]
    [InlineData("offsetof(struct epoll_event, data)")]
    [InlineData(nameof(KvmIoctls.KVM_SET_GSI_ROUTING))]
    [InlineData(nameof(KvmIoctls.KVM_SIGNAL_MSI))]
    [InlineData(nameof(KvmConstants.KVM_IRQ_ROUTING_MSI))]
    [InlineData(nameof(KvmConstants.KVM_IRQCHIP_IOAPIC))]
    [InlineData(nameof(Libc.EPOLLIN))]
    [InlineData("sizeof(struct screen_info)")]
    [InlineData("offsetof(struct screen_info, lfb_base)")]
    [InlineData("offsetof(struct screen_info, ext_lfb_base)")]
    [InlineData(nameof(ScreenInfoConstants.VIDEO_TYPE_VLFB))]
    public void The_table_covers_the_members_the_run_loop_and_interrupt_routing_depend_on(string key)
    {
        Assert.Contains(CHeaderTable.Entries, e => e.Key == key);
    }

    [Fact]
    public void The_table_covers_every_struct_the_issue_lists()
    {
        string[] required =
        [
            "kvm_userspace_memory_region", "kvm_run", "kvm_regs", "kvm_sregs", "kvm_segment", "kvm_dtable", "kvm_fpu",
            "kvm_cpuid2", "kvm_cpuid_entry2", "kvm_msrs", "kvm_msr_entry", "kvm_irq_level", "kvm_pit_config",
            "kvm_coalesced_mmio_zone", "kvm_coalesced_mmio", "kvm_coalesced_mmio_ring", "kvm_irqfd", "kvm_ioeventfd", "kvm_enable_cap",
            "kvm_irq_routing", "kvm_irq_routing_entry", "kvm_irq_routing_irqchip", "kvm_irq_routing_msi", "kvm_msi", "epoll_event",
        ];
        var missing = required.Where(s => !CHeaderTable.Entries.Any(e => e.Key == $"sizeof(struct {s})")).ToArray();
        Assert.Empty(missing);
    }

    [Fact]
    public void The_table_covers_every_vfio_struct_ioctl_and_constant_passthrough_uses()
    {
        string[] required =
        [
            "sizeof(struct vfio_info_cap_header)", "sizeof(struct vfio_group_status)", "sizeof(struct vfio_device_info)",
            "sizeof(struct vfio_region_info)", "sizeof(struct vfio_region_sparse_mmap_area)", "sizeof(struct vfio_region_info_cap_sparse_mmap)",
            "sizeof(struct vfio_irq_info)", "sizeof(struct vfio_irq_set)", "sizeof(struct vfio_iommu_type1_dma_map)", "sizeof(struct vfio_iommu_type1_dma_unmap)",
            "offsetof(struct vfio_region_info_cap_sparse_mmap, nr_areas)", "offsetof(struct vfio_region_info, offset)",
            nameof(VfioIoctls.VFIO_GET_API_VERSION), nameof(VfioIoctls.VFIO_CHECK_EXTENSION), nameof(VfioIoctls.VFIO_SET_IOMMU),
            nameof(VfioIoctls.VFIO_IOMMU_MAP_DMA), nameof(VfioIoctls.VFIO_IOMMU_UNMAP_DMA), nameof(VfioIoctls.VFIO_GROUP_GET_STATUS),
            nameof(VfioIoctls.VFIO_GROUP_SET_CONTAINER), nameof(VfioIoctls.VFIO_GROUP_UNSET_CONTAINER), nameof(VfioIoctls.VFIO_GROUP_GET_DEVICE_FD),
            nameof(VfioIoctls.VFIO_DEVICE_GET_INFO), nameof(VfioIoctls.VFIO_DEVICE_GET_REGION_INFO), nameof(VfioIoctls.VFIO_DEVICE_GET_IRQ_INFO),
            nameof(VfioIoctls.VFIO_DEVICE_SET_IRQS), nameof(VfioIoctls.VFIO_DEVICE_RESET),
            nameof(VfioConstants.VFIO_API_VERSION), nameof(VfioConstants.VFIO_TYPE1_IOMMU), nameof(VfioConstants.VFIO_GROUP_FLAGS_VIABLE),
            nameof(VfioConstants.VFIO_DEVICE_FLAGS_PCI), nameof(VfioConstants.VFIO_REGION_INFO_FLAG_MMAP), nameof(VfioConstants.VFIO_REGION_INFO_CAP_SPARSE_MMAP),
            nameof(VfioConstants.VFIO_IRQ_SET_DATA_EVENTFD), nameof(VfioConstants.VFIO_IRQ_SET_ACTION_TRIGGER), nameof(VfioConstants.VFIO_IRQ_SET_ACTION_UNMASK),
            nameof(VfioPciIndexes.VFIO_PCI_CONFIG_REGION_INDEX), nameof(VfioPciIndexes.VFIO_PCI_MSIX_IRQ_INDEX),
            nameof(KvmConstants.KVM_IRQFD_FLAG_RESAMPLE), nameof(KvmConstants.KVM_CAP_IRQFD_RESAMPLE),
        ];
        var missing = required.Where(key => !CHeaderTable.Entries.Any(e => e.Key == key)).ToArray();
        Assert.Empty(missing);
    }

    [Fact]
    public void The_table_covers_every_tun_struct_ioctl_and_constant_the_tap_backend_uses()
    {
        string[] required =
        [
            "sizeof(struct ifreq)", "offsetof(struct ifreq, ifr_name)", "offsetof(struct ifreq, ifr_flags)",
            "sizeof(struct virtio_net_hdr)", "sizeof(struct virtio_net_hdr_mrg_rxbuf)", "offsetof(struct virtio_net_hdr_mrg_rxbuf, num_buffers)",
            nameof(TunIoctls.TUNSETIFF), nameof(TunIoctls.TUNSETVNETHDRSZ), nameof(TunIoctls.TUNSETOFFLOAD), nameof(TunIoctls.TUNGETFEATURES),
            nameof(TunConstants.IFF_TAP), nameof(TunConstants.IFF_NO_PI), nameof(TunConstants.IFF_VNET_HDR), nameof(TunConstants.IFNAMSIZ),
            nameof(TunConstants.VIRTIO_NET_HDR_F_NEEDS_CSUM), nameof(TunConstants.VIRTIO_NET_HDR_GSO_NONE),
            nameof(Libc.EPOLLONESHOT), nameof(Libc.EPOLL_CTL_MOD), nameof(Libc.O_NONBLOCK),
        ];
        var missing = required.Where(key => !CHeaderTable.Entries.Any(e => e.Key == key)).ToArray();
        Assert.Empty(missing);
    }

    private static Dictionary<string, long> CompileAndRun(string source)
    {
        string dir = Directory.CreateTempSubdirectory("kvm-header-check-").FullName;
        try
        {
            string c = Path.Combine(dir, "check.c");
            string exe = Path.Combine(dir, "check");
            File.WriteAllText(c, source);
            Run("gcc", ["-std=gnu11", "-Wall", "-Werror", "-o", exe, c], out _);
            Run(exe, [], out string output);
            var values = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                int space = line.LastIndexOf(' ');
                values[line[..space]] = long.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
            }

            return values;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void Run(string file, string[] args, out string stdout)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {file}");
        var stderr = process.StandardError.ReadToEndAsync();
        stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(CompileTimeout))
        {
            process.Kill();
            throw new TimeoutException($"{file} did not finish in {CompileTimeout}");
        }

        Assert.True(process.ExitCode == 0, $"{file} failed with exit code {process.ExitCode}:\n{stderr.Result}");
    }
}
