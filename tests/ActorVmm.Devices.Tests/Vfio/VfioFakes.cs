using System.Buffers.Binary;
using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Pci.Msix;
using ActorVmm.Devices.Vfio;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Passthrough;
using static ActorVmm.Machine.Passthrough.VfioPciIndexes;

namespace ActorVmm.Devices.Tests.Vfio;

/// <summary>
/// A fake VFIO device: a configuration space and region contents as byte arrays, region and IRQ info as given, and a
/// record of every region access, mapping, SET_IRQS and reset in the order they happened.
/// </summary>
internal sealed class FakeVfioDevice : IVfioDevice
{
    private readonly Dictionary<int, VfioRegionInfo> _regions = [];
    private readonly Dictionary<int, byte[]> _contents = [];
    private readonly Dictionary<int, int> _irqCounts = [];

    public FakeVfioDevice(bool canReset = true)
    {
        Info = new VfioDeviceInfo(true, canReset, VFIO_PCI_NUM_REGIONS, VFIO_PCI_NUM_IRQS);
        AddRegion(VFIO_PCI_CONFIG_REGION_INDEX, PciHeader.ConfigSpaceSize, VfioRegionFlags.Read | VfioRegionFlags.Write);
    }

    public string HostAddress => "0000:00:03.0";

    public VfioDeviceInfo Info { get; }

    public byte[] Config => _contents[VFIO_PCI_CONFIG_REGION_INDEX];

    public List<(int Region, ulong Offset, byte[] Data)> Writes { get; } = [];

    public List<(int Region, ulong Offset, int Length)> Reads { get; } = [];

    public List<(int Region, ulong Offset, ulong Size)> Maps { get; } = [];

    public int Unmaps { get; private set; }

    /// <summary>(index, start, eventfds) for a trigger, (index, -1, [fd]) for an unmask fd, (index, 0, null) for a disable.</summary>
    public List<(int Index, int Start, int[]? Fds)> IrqSets { get; } = [];

    /// <summary><see cref="IrqSets"/> as text, "index/start/fds" with "off" for a disable (arrays compare by content this way).</summary>
    public IEnumerable<string> IrqLog => IrqSets.Select(s => Irq(s.Index, s.Start, s.Fds));

    public int Resets { get; private set; }

    public bool Disposed { get; private set; }

    /// <summary>One <see cref="IrqLog"/> entry.</summary>
    public static string Irq(int index, int start, params int[]? fds) => $"{index}/{start}/{(fds is null ? "off" : string.Join(',', fds))}";

    public void AddRegion(int index, ulong size, VfioRegionFlags flags, params VfioSparseArea[] sparse)
    {
        _regions[index] = new VfioRegionInfo(index, flags, size, (ulong)index << 40, sparse.Length == 0 ? null : sparse);
        _contents[index] = new byte[size];
    }

    public void SetIrqCount(int index, int count) => _irqCounts[index] = count;

    public byte[] Contents(int region) => _contents[region];

    public List<(ulong GuestAddress, nint HostAddress, ulong Size)> DmaWindows { get; } = [];

    public void MapDma(IReadOnlyList<(ulong GuestAddress, nint HostAddress, ulong Size)> windows) => DmaWindows.AddRange(windows);

    public VfioRegionInfo GetRegionInfo(int index) => _regions.GetValueOrDefault(index) ?? new VfioRegionInfo(index, VfioRegionFlags.None, 0, 0);

    public VfioIrqInfo GetIrqInfo(int index) => new(index, VfioIrqFlags.EventFd, _irqCounts.GetValueOrDefault(index));

    public void Read(VfioRegionInfo region, ulong offset, Span<byte> data)
    {
        Assert.Equal((ulong)region.Index << 40, region.Offset);
        Reads.Add((region.Index, offset, data.Length));
        _contents[region.Index].AsSpan((int)offset, data.Length).CopyTo(data);
    }

    public void Write(VfioRegionInfo region, ulong offset, ReadOnlySpan<byte> data)
    {
        Writes.Add((region.Index, offset, data.ToArray()));
        data.CopyTo(_contents[region.Index].AsSpan((int)offset));
    }

    public IVfioMapping Map(VfioRegionInfo region, ulong offset, ulong size)
    {
        Maps.Add((region.Index, offset, size));
        return new Mapping(this, (nint)(0x7000_0000 + ((long)region.Index << 24) + (long)offset), size);
    }

    public void SetIrqTriggers(int index, int start, ReadOnlySpan<int> eventFds) => IrqSets.Add((index, start, eventFds.ToArray()));

    public void SetIrqUnmaskFd(int index, int eventFd) => IrqSets.Add((index, -1, [eventFd]));

    public void DisableIrqs(int index) => IrqSets.Add((index, 0, null));

    public void Reset() => Resets++;

    public void Dispose() => Disposed = true;

    private sealed class Mapping(FakeVfioDevice owner, nint address, ulong size) : IVfioMapping
    {
        public nint HostAddress => address;

        public ulong Size => size;

        public void Dispose() => owner.Unmaps++;
    }
}

/// <summary>A fake backend: memory slots and irqfds as records, MSI routes with fake eventfd numbers and their message history.</summary>
internal sealed class FakePassthroughHost : IPassthroughHost
{
    private int _nextFd = 200;

    public IReadOnlyList<(ulong GuestAddress, nint HostAddress, ulong Size)> DmaWindows { get; init; } = [];

    /// <summary>Memory slots alive now: guest address → (size, host address).</summary>
    public SortedDictionary<ulong, (ulong Size, nint Host)> Slots { get; } = [];

    /// <summary>Guest addresses refused as if they overlapped RAM.</summary>
    public HashSet<ulong> RefusedAddresses { get; } = [];

    public List<FakeLevelIrqFd> LevelIrqFds { get; } = [];

    public List<FakeRoute> Routes { get; } = [];

    public IDisposable MapDeviceMemory(ulong guestAddress, ulong size, nint hostAddress)
    {
        if (RefusedAddresses.Contains(guestAddress))
        {
            throw new ArgumentException("overlaps guest RAM");
        }

        Assert.True(Slots.TryAdd(guestAddress, (size, hostAddress)), $"slot at 0x{guestAddress:X} mapped twice");
        return new Slot(this, guestAddress);
    }

    public ILevelIrqFd CreateLevelIrqFd(int gsi)
    {
        var irq = new FakeLevelIrqFd(gsi, _nextFd++, _nextFd++);
        LevelIrqFds.Add(irq);
        return irq;
    }

    public IEventFdMsiRoute CreateEventFdMsiRoute(MsiMessage message)
    {
        var route = new FakeRoute(_nextFd++, message);
        Routes.Add(route);
        return route;
    }

    private sealed class Slot(FakePassthroughHost host, ulong address) : IDisposable
    {
        public void Dispose() => Assert.True(host.Slots.Remove(address));
    }
}

internal sealed class FakeLevelIrqFd(int gsi, int trigger, int resample) : ILevelIrqFd
{
    public int Gsi => gsi;

    public int TriggerFd => trigger;

    public int ResampleFd => resample;

    public bool Disposed { get; private set; }

    public void Dispose() => Disposed = true;
}

internal sealed class FakeRoute(int eventFd, MsiMessage message) : IEventFdMsiRoute
{
    public int EventFd => eventFd;

    public MsiMessage Message { get; private set; } = message;

    public List<MsiMessage> Updates { get; } = [];

    public int Triggers { get; private set; }

    public bool Disposed { get; private set; }

    public void Update(MsiMessage message)
    {
        Message = message;
        Updates.Add(message);
    }

    public void Trigger() => Triggers++;

    /// <summary>The mask state as last set (routes start unmasked).</summary>
    public bool Masked { get; private set; }

    /// <summary>Every SetMasked call, in order.</summary>
    public List<bool> MaskChanges { get; } = [];

    public void SetMasked(bool masked)
    {
        Masked = masked;
        MaskChanges.Add(masked);
    }

    public void Dispose() => Disposed = true;
}

/// <summary>Host devices the tests pass through, laid out as real ones are.</summary>
internal static class FakeDevices
{
    public const ushort EduVendor = 0x1234;
    public const ushort EduDevice = 0x11E8;
    public const ulong EduBar0Size = 0x10_0000;
    public const int EduMsiOffset = 0x40;
    public const int HiddenPmOffset = 0x50;
    public const ulong RomSize = 0x8000;
    public const ulong NicBar0Size = 0x4000;
    public const uint NicMsixTableOffset = 0x2000;
    public const uint NicMsixPbaOffset = 0x3000;
    public const int NicMsixVectors = 4;
    public const ulong NicIoBarSize = 0x20;
    public const ulong NicBar2Size = 0x800;
    public const int NicMsixCapOffset = 0x60;

    /// <summary>QEMU's edu: 1 MiB mmappable BAR0, INTA, a 64-bit one-vector MSI capability, then a power-management one, and a ROM.</summary>
    public static FakeVfioDevice Edu()
    {
        var device = new FakeVfioDevice();
        device.AddRegion(VFIO_PCI_BAR0_REGION_INDEX, EduBar0Size, VfioRegionFlags.Read | VfioRegionFlags.Write | VfioRegionFlags.Mmap);
        device.AddRegion(VFIO_PCI_ROM_REGION_INDEX, RomSize, VfioRegionFlags.Read);
        device.SetIrqCount(VFIO_PCI_INTX_IRQ_INDEX, 1);
        device.SetIrqCount(VFIO_PCI_MSI_IRQ_INDEX, 1);
        byte[] c = device.Config;
        Header(c, EduVendor, EduDevice, baseClass: 0x00, subClass: 0xFF);
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(PciHeader.Bar(0)), 0);
        c[PciHeader.InterruptPin] = (byte)PciInterruptPin.IntA;
        c[PciHeader.CapabilitiesPointer] = EduMsiOffset;
        c[EduMsiOffset] = PciCapabilityId.Msi;
        c[EduMsiOffset + PciCapability.NextPointer] = HiddenPmOffset;
        BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(EduMsiOffset + MsiRegisters.MessageControl), MsiRegisters.Address64);
        c[HiddenPmOffset] = PciCapabilityId.PowerManagement;
        return device;
    }

    /// <summary>A NIC-like function: BAR0 32-bit mmappable with the MSI-X table and PBA, BAR1 I/O, BAR2 64-bit not mmappable; no INTx.</summary>
    public static FakeVfioDevice Nic()
    {
        var device = new FakeVfioDevice();
        device.AddRegion(VFIO_PCI_BAR0_REGION_INDEX, NicBar0Size, VfioRegionFlags.Read | VfioRegionFlags.Write | VfioRegionFlags.Mmap);
        device.AddRegion(VFIO_PCI_BAR0_REGION_INDEX + 1, NicIoBarSize, VfioRegionFlags.Read | VfioRegionFlags.Write);
        device.AddRegion(VFIO_PCI_BAR0_REGION_INDEX + 2, NicBar2Size, VfioRegionFlags.Read | VfioRegionFlags.Write);
        device.SetIrqCount(VFIO_PCI_MSIX_IRQ_INDEX, NicMsixVectors);
        byte[] c = device.Config;
        Header(c, 0x8086, 0x10D3, baseClass: 0x02, subClass: 0x00);
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(PciHeader.Bar(1)), PciBarBits.IoSpace);
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(PciHeader.Bar(2)), PciBarBits.MemoryType64);
        c[PciHeader.CapabilitiesPointer] = NicMsixCapOffset;
        c[NicMsixCapOffset] = PciCapabilityId.MsiX;
        BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(NicMsixCapOffset + MsixRegisters.MessageControl), NicMsixVectors - 1);
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(NicMsixCapOffset + MsixRegisters.TableOffsetBir), NicMsixTableOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(NicMsixCapOffset + MsixRegisters.PbaOffsetBir), NicMsixPbaOffset);
        return device;
    }

    private static void Header(byte[] c, ushort vendor, ushort deviceId, byte baseClass, byte subClass)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(PciHeader.VendorId), vendor);
        BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(PciHeader.DeviceId), deviceId);
        BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(PciHeader.Status), (ushort)PciStatus.CapabilitiesList);
        c[PciHeader.BaseClass] = baseClass;
        c[PciHeader.SubClass] = subClass;
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(PciHeader.ExpansionRom), 0xFFFE_0000);
    }

    /// <summary>The MSI-X definition the NIC should be given.</summary>
    public static MsixDefinition NicMsix { get; } = new(NicMsixVectors, 0, NicMsixTableOffset, 0, NicMsixPbaOffset);
}
