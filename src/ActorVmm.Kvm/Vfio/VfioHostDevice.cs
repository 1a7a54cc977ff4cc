using System.Buffers.Binary;
using System.Runtime.InteropServices;
using ActorVmm.Kvm.Interop;
using ActorVmm.Machine.Passthrough;
using static ActorVmm.Kvm.Interop.VfioConstants;
using static ActorVmm.Machine.Passthrough.VfioPciIndexes;

namespace ActorVmm.Kvm.Vfio;

/// <summary>
/// A host PCI device opened through VFIO (kvmtool's vfio/core.c order): sysfs tells its IOMMU group and driver, the
/// container is checked for the API version and a type-1 IOMMU, the group for viability, the group joins the
/// container, the IOMMU maps the given guest RAM windows for DMA, and the device fd is taken and checked to be PCI.
/// Each usual mistake ends in a <see cref="VfioSetupException"/> that names what to do. Owns the three fds.
/// </summary>
public sealed class VfioHostDevice : IVfioDevice
{
    /// <summary>The container device.</summary>
    public const string ContainerPath = "/dev/vfio/vfio";

    private const string SysfsDevices = "/sys/bus/pci/devices";
    private const string SysfsGroups = "/sys/kernel/iommu_groups";
    private const string VfioPciDriver = "vfio-pci";

    private readonly IVfioKernel _kernel;
    private readonly SafeFdHandle _container;
    private readonly SafeFdHandle _group;
    private readonly SafeFdHandle _device;
    private readonly List<(ulong GuestAddress, nint HostAddress, ulong Size)> _dmaWindows;
    private int _disposed;

    private VfioHostDevice(IVfioKernel kernel, string address, SafeFdHandle container, SafeFdHandle group, SafeFdHandle device, VfioDeviceInfo info, int groupNumber, List<(ulong, nint, ulong)> dmaWindows)
    {
        _dmaWindows = dmaWindows;
        _kernel = kernel;
        HostAddress = address;
        _container = container;
        _group = group;
        _device = device;
        Info = info;
        Group = groupNumber;
    }

    /// <inheritdoc />
    public string HostAddress { get; }

    /// <inheritdoc />
    public VfioDeviceInfo Info { get; }

    /// <summary>The IOMMU group number.</summary>
    public int Group { get; }

    /// <summary>Opens <paramref name="address"/> and maps <paramref name="dmaWindows"/> (guest address, host address, size) for its DMA.</summary>
    /// <exception cref="VfioSetupException">A step failed; the message says what to do.</exception>
    public static VfioHostDevice Open(VfioPciAddress address, IReadOnlyList<(ulong GuestAddress, nint HostAddress, ulong Size)> dmaWindows) =>
        Open(VfioKernel.Instance, address, dmaWindows);

    internal static VfioHostDevice Open(IVfioKernel kernel, VfioPciAddress address, IReadOnlyList<(ulong GuestAddress, nint HostAddress, ulong Size)> dmaWindows)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(dmaWindows);
        string name = address.ToString();
        string sysfs = $"{SysfsDevices}/{name}";
        if (kernel.ReadText($"{sysfs}/vendor") is not { } vendor)
        {
            throw new VfioSetupException($"no PCI device {name} on this host: pick one from 'lspci -D'");
        }

        string ids = $"{Strip(vendor)} {Strip(kernel.ReadText($"{sysfs}/device") ?? "?")}";
        if (kernel.ReadLinkName($"{sysfs}/iommu_group") is not { } groupName || !int.TryParse(groupName, out int groupNumber))
        {
            throw new VfioSetupException($"{name} has no IOMMU group: the host has no IOMMU enabled. Turn on VT-d/AMD-Vi, boot with intel_iommu=on (or amd_iommu=on) and load vfio-pci");
        }

        string? driver = kernel.ReadLinkName($"{sysfs}/driver");
        if (driver != VfioPciDriver)
        {
            string bound = driver is null ? "no driver" : $"driver '{driver}'";
            throw new VfioSetupException($"{name} is bound to {bound}, not vfio-pci: modprobe vfio-pci, then 'echo {name} > /sys/bus/pci/devices/{name}/driver/unbind' (if bound) and 'echo {ids} > /sys/bus/pci/drivers/vfio-pci/new_id'");
        }

        var opened = new List<SafeFdHandle>();
        try
        {
            var container = kernel.Open(ContainerPath, out int errno) ?? throw new VfioSetupException(errno == Libc.ENOENT
                ? $"{ContainerPath} is missing: load the VFIO modules (modprobe vfio vfio_iommu_type1 vfio-pci)"
                : $"cannot open {ContainerPath}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}); run as root or give your user access to /dev/vfio");
            opened.Add(container);
            int version = kernel.Ioctl(container, VfioIoctls.VFIO_GET_API_VERSION, 0);
            if (version != VFIO_API_VERSION)
            {
                throw new VfioSetupException($"VFIO_GET_API_VERSION returned {version}; this program speaks VFIO API {VFIO_API_VERSION}");
            }

            if (kernel.Ioctl(container, VfioIoctls.VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) <= 0)
            {
                throw new VfioSetupException("no IOMMU: the VFIO container offers no type-1 IOMMU. Enable VT-d/AMD-Vi (intel_iommu=on or amd_iommu=on) and load vfio_iommu_type1");
            }

            string groupPath = $"/dev/vfio/{groupNumber}";
            var group = kernel.Open(groupPath, out errno) ?? throw new VfioSetupException(errno == Libc.EBUSY
                ? $"IOMMU group {groupNumber} of {name} is already in use by another process (another VMM has it): stop that one first"
                : $"cannot open {groupPath} for {name}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}); check that vfio-pci is bound and you may open /dev/vfio");
            opened.Add(group);
            Span<byte> status = stackalloc byte[Marshal.SizeOf<vfio_group_status>()];
            WriteArgsz(status);
            Check(kernel.Ioctl(group, VfioIoctls.VFIO_GROUP_GET_STATUS, status), nameof(VfioIoctls.VFIO_GROUP_GET_STATUS));
            uint flags = MemoryMarshal.Read<vfio_group_status>(status).flags;
            if ((flags & VFIO_GROUP_FLAGS_VIABLE) == 0)
            {
                var others = kernel.List($"{SysfsGroups}/{groupNumber}/devices").Where(d => d != name)
                    .Select(d => $"{d} ({kernel.ReadLinkName($"{SysfsDevices}/{d}/driver") ?? "no driver"})");
                throw new VfioSetupException($"IOMMU group {groupNumber} of {name} is not viable: every device in the group must be bound to vfio-pci (or have no driver). Others in the group: {string.Join(", ", others)}");
            }

            // The kernel reads the container fd through a pointer (get_user of an int), unlike VFIO_SET_IOMMU's plain argument.
            Span<byte> containerFd = stackalloc byte[sizeof(int)];
            BinaryPrimitives.WriteInt32LittleEndian(containerFd, container.Fd);
            Check(kernel.Ioctl(group, VfioIoctls.VFIO_GROUP_SET_CONTAINER, containerFd), nameof(VfioIoctls.VFIO_GROUP_SET_CONTAINER));
            Check(kernel.Ioctl(container, VfioIoctls.VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), nameof(VfioIoctls.VFIO_SET_IOMMU));
            foreach (var window in dmaWindows)
            {
                MapWindow(kernel, container, window);
            }

            var device = kernel.GetDeviceFd(group, name, out errno) ?? throw new VfioSetupException(errno == Libc.EBUSY
                ? $"{name} is already in use (another VMM or process holds its VFIO device fd): stop that one first"
                : $"VFIO_GROUP_GET_DEVICE_FD for {name} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
            opened.Add(device);
            Span<byte> infoBytes = stackalloc byte[Marshal.SizeOf<vfio_device_info>()];
            WriteArgsz(infoBytes);
            Check(kernel.Ioctl(device, VfioIoctls.VFIO_DEVICE_GET_INFO, infoBytes), nameof(VfioIoctls.VFIO_DEVICE_GET_INFO));
            var info = MemoryMarshal.Read<vfio_device_info>(infoBytes);
            if ((info.flags & VFIO_DEVICE_FLAGS_PCI) == 0 || info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX)
            {
                throw new VfioSetupException($"{name} is not a PCI device as VFIO sees it (flags 0x{info.flags:X}, {info.num_regions} regions): --vfio-pci takes devices bound to vfio-pci");
            }

            return new VfioHostDevice(kernel, name, container, group, device,
                new VfioDeviceInfo(IsPci: true, (info.flags & VFIO_DEVICE_FLAGS_RESET) != 0, (int)info.num_regions, (int)info.num_irqs), groupNumber, [.. dmaWindows]);
        }
        catch
        {
            for (int i = opened.Count - 1; i >= 0; i--)
            {
                opened[i].Dispose();
            }

            throw;
        }
    }

    /// <inheritdoc />
    public void MapDma(IReadOnlyList<(ulong GuestAddress, nint HostAddress, ulong Size)> windows)
    {
        ArgumentNullException.ThrowIfNull(windows);
        foreach (var window in windows)
        {
            MapWindow(_kernel, _container, window);
            _dmaWindows.Add(window);
        }
    }

    /// <inheritdoc />
    public VfioRegionInfo GetRegionInfo(int index)
    {
        int headerSize = Marshal.SizeOf<vfio_region_info>();
        byte[] buffer = new byte[headerSize];
        for (int attempt = 0; attempt < 2; attempt++)
        {
            WriteArgsz(buffer);
            BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(Offset<vfio_region_info>(nameof(vfio_region_info.index))), (uint)index);
            Check(_kernel.Ioctl(_device, VfioIoctls.VFIO_DEVICE_GET_REGION_INFO, buffer), nameof(VfioIoctls.VFIO_DEVICE_GET_REGION_INFO));
            uint needed = MemoryMarshal.Read<vfio_region_info>(buffer).argsz;
            if (needed <= buffer.Length || attempt == 1)
            {
                break;
            }

            // The capability chain did not fit: the kernel said how much room it needs (bounded, it is kernel data).
            buffer = new byte[Math.Min(needed, 1u << 16)];
        }

        var info = MemoryMarshal.Read<vfio_region_info>(buffer);
        var flags = (VfioRegionFlags)(info.flags & (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP));
        IReadOnlyList<VfioSparseArea>? sparse = (info.flags & VFIO_REGION_INFO_FLAG_CAPS) != 0 ? SparseAreas(buffer, info.cap_offset) : null;
        return new VfioRegionInfo(index, flags, info.size, info.offset, sparse);
    }

    /// <inheritdoc />
    public VfioIrqInfo GetIrqInfo(int index)
    {
        Span<byte> buffer = stackalloc byte[Marshal.SizeOf<vfio_irq_info>()];
        WriteArgsz(buffer);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[Offset<vfio_irq_info>(nameof(vfio_irq_info.index))..], (uint)index);
        Check(_kernel.Ioctl(_device, VfioIoctls.VFIO_DEVICE_GET_IRQ_INFO, buffer), nameof(VfioIoctls.VFIO_DEVICE_GET_IRQ_INFO));
        var info = MemoryMarshal.Read<vfio_irq_info>(buffer);
        return new VfioIrqInfo(index, (VfioIrqFlags)(info.flags & 0xF), (int)info.count);
    }

    /// <inheritdoc />
    public void Read(VfioRegionInfo region, ulong offset, Span<byte> data)
    {
        CheckInside(region, offset, data.Length);
        nint n = _kernel.Pread(_device, data, checked((long)(region.Offset + offset)));
        if (n != data.Length)
        {
            throw Failure($"pread of region {region.Index} at 0x{offset:X}", n);
        }
    }

    /// <inheritdoc />
    public void Write(VfioRegionInfo region, ulong offset, ReadOnlySpan<byte> data)
    {
        CheckInside(region, offset, data.Length);
        nint n = _kernel.Pwrite(_device, data, checked((long)(region.Offset + offset)));
        if (n != data.Length)
        {
            throw Failure($"pwrite of region {region.Index} at 0x{offset:X}", n);
        }
    }

    /// <inheritdoc />
    public IVfioMapping Map(VfioRegionInfo region, ulong offset, ulong size)
    {
        CheckInside(region, offset, 0);
        if (size == 0 || size > region.Size - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, $"region {region.Index} has 0x{region.Size:X} bytes");
        }

        nint address = _kernel.Mmap(_device, size, checked((long)(region.Offset + offset)), out int errno);
        return address != 0 ? new Mapping(_kernel, address, size) : throw new KvmIoctlException($"mmap of region {region.Index} at 0x{offset:X}", errno);
    }

    /// <inheritdoc />
    public void SetIrqTriggers(int index, int start, ReadOnlySpan<int> eventFds) =>
        SetIrqs(index, start, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, eventFds);

    /// <inheritdoc />
    public void SetIrqUnmaskFd(int index, int eventFd) =>
        SetIrqs(index, 0, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK, [eventFd]);

    /// <inheritdoc />
    public void DisableIrqs(int index) => SetIrqs(index, 0, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, []);

    /// <inheritdoc />
    public void Reset()
    {
        if (!Info.CanReset)
        {
            throw new InvalidOperationException($"{HostAddress} does not support VFIO_DEVICE_RESET");
        }

        Check(_kernel.Ioctl(_device, VfioIoctls.VFIO_DEVICE_RESET, 0), nameof(VfioIoctls.VFIO_DEVICE_RESET));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // The device's DMA windows go first (closing the container would drop them too, but the device fd must not
        // outlive its view of guest RAM), then the device, the group (leaving the container), the container.
        foreach (var window in _dmaWindows)
        {
            var unmap = new vfio_iommu_type1_dma_unmap { argsz = (uint)Marshal.SizeOf<vfio_iommu_type1_dma_unmap>(), iova = window.GuestAddress, size = window.Size };
            _kernel.Ioctl(_container, VfioIoctls.VFIO_IOMMU_UNMAP_DMA, MemoryMarshal.AsBytes(new Span<vfio_iommu_type1_dma_unmap>(ref unmap)));
        }

        _device.Dispose();
        _group.Dispose();
        _container.Dispose();
    }

    /// <summary>Builds a struct vfio_irq_set followed by its eventfds (s32 each), as the kernel reads it.</summary>
    internal static byte[] BuildIrqSet(int index, int start, uint flags, ReadOnlySpan<int> eventFds)
    {
        int headerSize = Marshal.SizeOf<vfio_irq_set>();
        byte[] buffer = new byte[headerSize + (eventFds.Length * sizeof(int))];
        var header = new vfio_irq_set { argsz = (uint)buffer.Length, flags = flags, index = (uint)index, start = (uint)start, count = (uint)eventFds.Length };
        MemoryMarshal.Write(buffer, in header);
        MemoryMarshal.AsBytes(eventFds).CopyTo(buffer.AsSpan(headerSize));
        return buffer;
    }

    private static List<VfioSparseArea>? SparseAreas(byte[] buffer, uint firstCap)
    {
        int capHeader = Marshal.SizeOf<vfio_info_cap_header>();
        int sparseHeader = Marshal.SizeOf<vfio_region_info_cap_sparse_mmap>();
        int areaSize = Marshal.SizeOf<vfio_region_sparse_mmap_area>();
        uint at = firstCap;

        // Walk the chain; every offset is checked against the buffer, and a loop ends after as many hops as could fit.
        for (int hops = 0; at != 0 && at + capHeader <= buffer.Length && hops < buffer.Length / capHeader; hops++)
        {
            var header = MemoryMarshal.Read<vfio_info_cap_header>(buffer.AsSpan((int)at));
            if (header.id == VFIO_REGION_INFO_CAP_SPARSE_MMAP && at + sparseHeader <= buffer.Length)
            {
                var sparse = MemoryMarshal.Read<vfio_region_info_cap_sparse_mmap>(buffer.AsSpan((int)at));
                long end = at + sparseHeader + ((long)sparse.nr_areas * areaSize);
                if (end > buffer.Length)
                {
                    return null;
                }

                var areas = new List<VfioSparseArea>((int)sparse.nr_areas);
                for (int i = 0; i < sparse.nr_areas; i++)
                {
                    var area = MemoryMarshal.Read<vfio_region_sparse_mmap_area>(buffer.AsSpan((int)at + sparseHeader + (i * areaSize)));
                    areas.Add(new VfioSparseArea(area.offset, area.size));
                }

                return areas;
            }

            at = header.next;
        }

        return null;
    }

    private static void MapWindow(IVfioKernel kernel, SafeFdHandle container, (ulong GuestAddress, nint HostAddress, ulong Size) window)
    {
        var map = new vfio_iommu_type1_dma_map
        {
            argsz = (uint)Marshal.SizeOf<vfio_iommu_type1_dma_map>(),
            flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
            vaddr = (ulong)window.HostAddress,
            iova = window.GuestAddress,
            size = window.Size,
        };
        int rc = kernel.Ioctl(container, VfioIoctls.VFIO_IOMMU_MAP_DMA, MemoryMarshal.AsBytes(new Span<vfio_iommu_type1_dma_map>(ref map)));
        if (rc < 0)
        {
            throw new VfioSetupException($"VFIO_IOMMU_MAP_DMA of guest RAM [0x{window.GuestAddress:X}, +0x{window.Size:X}) failed: {Marshal.GetPInvokeErrorMessage(-rc)} (errno {-rc}); a ENOMEM here usually means the locked-memory limit (ulimit -l) is below the guest's RAM");
        }
    }

    private static string Strip(string id) => id.StartsWith("0x", StringComparison.Ordinal) ? id[2..] : id;

    private static void WriteArgsz(Span<byte> buffer) => BinaryPrimitives.WriteUInt32LittleEndian(buffer, (uint)buffer.Length);

    private static int Offset<T>(string field) => (int)Marshal.OffsetOf<T>(field);

    private static void Check(int rc, string call)
    {
        if (rc < 0)
        {
            throw new KvmIoctlException(call, -rc);
        }
    }

    private static KvmIoctlException Failure(string call, nint n) =>
        n < 0 ? new KvmIoctlException(call, (int)-n) : new KvmIoctlException(call, Libc.EIO, $"short transfer of {n} bytes");

    private static void CheckInside(VfioRegionInfo region, ulong offset, int length)
    {
        if (offset > region.Size || (ulong)length > region.Size - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"outside region {region.Index} (0x{region.Size:X} bytes)");
        }
    }

    private void SetIrqs(int index, int start, uint flags, ReadOnlySpan<int> eventFds)
    {
        byte[] buffer = BuildIrqSet(index, start, flags, eventFds);
        Check(_kernel.Ioctl(_device, VfioIoctls.VFIO_DEVICE_SET_IRQS, buffer), nameof(VfioIoctls.VFIO_DEVICE_SET_IRQS));
    }

    /// <summary>An mmapped area; disposing unmaps it once.</summary>
    private sealed class Mapping(IVfioKernel kernel, nint address, ulong size) : IVfioMapping
    {
        private int _disposed;

        public nint HostAddress => address;

        public ulong Size => size;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                kernel.Munmap(address, size);
            }
        }
    }
}
