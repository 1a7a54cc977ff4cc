using System.Buffers.Binary;
using System.Runtime.InteropServices;
using ActorVmm.Kvm.Interop;
using ActorVmm.Kvm.Vfio;
using static ActorVmm.Kvm.Interop.VfioConstants;
using static ActorVmm.Machine.Passthrough.VfioPciIndexes;

namespace ActorVmm.Kvm.Tests.Vfio;

/// <summary>
/// A fake host for VFIO set-up: sysfs entries as dictionaries, fds as borrowed numbers, and every VFIO ioctl decoded
/// through the header-checked structs the way the kernel reads them. By default it plays one viable group 7 holding
/// 0000:00:03.0 (1234:11e8) bound to vfio-pci; tests break one thing at a time.
/// </summary>
internal sealed class FakeVfioKernel : IVfioKernel
{
    public const int ContainerFd = 100;
    public const int GroupFd = 101;
    public const int DeviceFd = 102;
    public const string Address = "0000:00:03.0";

    public Dictionary<string, string> Texts { get; } = new()
    {
        [$"/sys/bus/pci/devices/{Address}/vendor"] = "0x1234",
        [$"/sys/bus/pci/devices/{Address}/device"] = "0x11e8",
    };

    public Dictionary<string, string> Links { get; } = new()
    {
        [$"/sys/bus/pci/devices/{Address}/iommu_group"] = "../../../kernel/iommu_groups/7",
        [$"/sys/bus/pci/devices/{Address}/driver"] = "../../../bus/pci/drivers/vfio-pci",
    };

    public Dictionary<string, string[]> Directories { get; } = new() { ["/sys/kernel/iommu_groups/7/devices"] = [Address] };

    public Dictionary<string, int> OpenErrors { get; } = [];

    public int ApiVersion { get; set; } = VFIO_API_VERSION;

    public bool HasType1 { get; set; } = true;

    public uint GroupFlags { get; set; } = VFIO_GROUP_FLAGS_VIABLE;

    public int DeviceFdErrno { get; set; }

    public uint DeviceFlags { get; set; } = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;

    public uint RegionCount { get; set; } = VFIO_PCI_NUM_REGIONS;

    /// <summary>Region index → (flags, size, offset, sparse areas or null).</summary>
    public Dictionary<uint, (uint Flags, ulong Size, ulong Offset, (ulong Offset, ulong Size)[]? Sparse)> Regions { get; } = [];

    public List<string> Calls { get; } = [];

    public List<vfio_iommu_type1_dma_map> DmaMaps { get; } = [];

    public List<(vfio_irq_set Header, int[] Fds)> IrqSets { get; } = [];

    public List<vfio_iommu_type1_dma_unmap> DmaUnmaps { get; } = [];

    public List<string> Opened { get; } = [];

    public SafeFdHandle? Open(string path, out int errno)
    {
        Opened.Add(path);
        if (OpenErrors.TryGetValue(path, out errno))
        {
            return null;
        }

        errno = 0;
        return SafeFdHandle.Borrow(path == VfioHostDevice.ContainerPath ? ContainerFd : GroupFd);
    }

    public string? ReadLinkName(string path) => Links.TryGetValue(path, out var target) ? Path.GetFileName(target) : null;

    public string? ReadText(string path) => Texts.GetValueOrDefault(path);

    public IReadOnlyList<string> List(string path) => Directories.GetValueOrDefault(path) ?? [];

    public int Ioctl(SafeFdHandle fd, uint request, nint arg)
    {
        Calls.Add(Name(request));
        if (request == VfioIoctls.VFIO_GET_API_VERSION)
        {
            return ApiVersion;
        }

        if (request == VfioIoctls.VFIO_CHECK_EXTENSION)
        {
            Assert.Equal(ContainerFd, fd.Fd);
            return HasType1 && arg == VFIO_TYPE1_IOMMU ? 1 : 0;
        }

        if (request == VfioIoctls.VFIO_SET_IOMMU)
        {
            Assert.Equal((ContainerFd, (nint)VFIO_TYPE1_IOMMU), (fd.Fd, arg));
            return 0;
        }

        if (request == VfioIoctls.VFIO_DEVICE_RESET)
        {
            Assert.Equal(DeviceFd, fd.Fd);
            return 0;
        }

        return -Libc.ENOTTY;
    }

    public int Ioctl(SafeFdHandle fd, uint request, Span<byte> buffer)
    {
        Calls.Add(Name(request));
        if (request == VfioIoctls.VFIO_GROUP_SET_CONTAINER)
        {
            // The kernel does get_user(fd, (int __user *)arg): the container fd behind a pointer, as a real group needs it.
            Assert.Equal((GroupFd, sizeof(int), ContainerFd), (fd.Fd, buffer.Length, BinaryPrimitives.ReadInt32LittleEndian(buffer)));
            return 0;
        }

        uint argsz = BinaryPrimitives.ReadUInt32LittleEndian(buffer);
        Assert.Equal((uint)buffer.Length, argsz);
        if (request == VfioIoctls.VFIO_GROUP_GET_STATUS)
        {
            MemoryMarshal.Write(buffer, new vfio_group_status { argsz = argsz, flags = GroupFlags });
            return 0;
        }

        if (request == VfioIoctls.VFIO_IOMMU_MAP_DMA)
        {
            DmaMaps.Add(MemoryMarshal.Read<vfio_iommu_type1_dma_map>(buffer));
            return 0;
        }

        if (request == VfioIoctls.VFIO_IOMMU_UNMAP_DMA)
        {
            Assert.Equal(ContainerFd, fd.Fd);
            DmaUnmaps.Add(MemoryMarshal.Read<vfio_iommu_type1_dma_unmap>(buffer));
            return 0;
        }

        if (request == VfioIoctls.VFIO_DEVICE_GET_INFO)
        {
            Assert.Equal(DeviceFd, fd.Fd);
            MemoryMarshal.Write(buffer, new vfio_device_info { argsz = argsz, flags = DeviceFlags, num_regions = RegionCount, num_irqs = VFIO_PCI_NUM_IRQS });
            return 0;
        }

        if (request == VfioIoctls.VFIO_DEVICE_GET_REGION_INFO)
        {
            return FillRegionInfo(buffer);
        }

        if (request == VfioIoctls.VFIO_DEVICE_GET_IRQ_INFO)
        {
            var info = MemoryMarshal.Read<vfio_irq_info>(buffer);
            info.flags = VFIO_IRQ_INFO_EVENTFD | (info.index == VFIO_PCI_INTX_IRQ_INDEX ? VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED : VFIO_IRQ_INFO_NORESIZE);
            info.count = info.index == VFIO_PCI_MSI_IRQ_INDEX ? 4u : 1u;
            MemoryMarshal.Write(buffer, in info);
            return 0;
        }

        if (request == VfioIoctls.VFIO_DEVICE_SET_IRQS)
        {
            var header = MemoryMarshal.Read<vfio_irq_set>(buffer);
            var fds = MemoryMarshal.Cast<byte, int>(buffer[Marshal.SizeOf<vfio_irq_set>()..]).ToArray();
            Assert.Equal((int)header.count, fds.Length);
            IrqSets.Add((header, fds));
            return 0;
        }

        return -Libc.ENOTTY;
    }

    public SafeFdHandle? GetDeviceFd(SafeFdHandle group, string name, out int errno)
    {
        Calls.Add(nameof(VfioIoctls.VFIO_GROUP_GET_DEVICE_FD));
        Assert.Equal(GroupFd, group.Fd);
        errno = name == Address ? DeviceFdErrno : Libc.ENODEV;
        return errno == 0 ? SafeFdHandle.Borrow(DeviceFd) : null;
    }

    public nint Pread(SafeFdHandle fd, Span<byte> data, long offset) => throw new NotSupportedException();

    public nint Pwrite(SafeFdHandle fd, ReadOnlySpan<byte> data, long offset) => throw new NotSupportedException();

    public nint Mmap(SafeFdHandle fd, ulong size, long offset, out int errno) => throw new NotSupportedException();

    public void Munmap(nint address, ulong size) => throw new NotSupportedException();

    private static string Name(uint request) =>
        typeof(VfioIoctls).GetFields().FirstOrDefault(f => f.IsInitOnly && (uint)f.GetValue(null)! == request)?.Name ?? $"0x{request:X}";

    // Like the kernel: the fixed part always, the capability chain only when argsz leaves room, and argsz set to what is needed.
    private int FillRegionInfo(Span<byte> buffer)
    {
        var info = MemoryMarshal.Read<vfio_region_info>(buffer);
        var (flags, size, offset, sparse) = Regions.GetValueOrDefault(info.index);
        int headerSize = Marshal.SizeOf<vfio_region_info>();
        int capSize = sparse is null ? 0 : Marshal.SizeOf<vfio_region_info_cap_sparse_mmap>() + (sparse.Length * Marshal.SizeOf<vfio_region_sparse_mmap_area>());
        info.flags = flags | (sparse is null ? 0 : VFIO_REGION_INFO_FLAG_CAPS);
        info.size = size;
        info.offset = offset;
        info.argsz = (uint)(headerSize + capSize);
        info.cap_offset = 0;
        if (sparse is not null && buffer.Length >= headerSize + capSize)
        {
            info.cap_offset = (uint)headerSize;
            var cap = new vfio_region_info_cap_sparse_mmap
            {
                header = new vfio_info_cap_header { id = VFIO_REGION_INFO_CAP_SPARSE_MMAP, version = 1, next = 0 },
                nr_areas = (uint)sparse.Length,
            };
            MemoryMarshal.Write(buffer[headerSize..], in cap);
            int at = headerSize + Marshal.SizeOf<vfio_region_info_cap_sparse_mmap>();
            foreach (var (areaOffset, areaSize) in sparse)
            {
                MemoryMarshal.Write(buffer[at..], new vfio_region_sparse_mmap_area { offset = areaOffset, size = areaSize });
                at += Marshal.SizeOf<vfio_region_sparse_mmap_area>();
            }
        }

        MemoryMarshal.Write(buffer, in info);
        return 0;
    }
}
