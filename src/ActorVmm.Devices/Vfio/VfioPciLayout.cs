using System.Buffers.Binary;
using System.Numerics;
using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Pci.Msix;
using ActorVmm.Machine.Passthrough;
using static ActorVmm.Machine.Passthrough.VfioPciIndexes;

namespace ActorVmm.Devices.Vfio;

/// <summary>How the guest sees a passed-through function's MSI capability.</summary>
/// <param name="Vectors">Vectors offered (a power of two, 1–32): what the device and VFIO both allow.</param>
/// <param name="Is64Bit">The device takes 64-bit message addresses.</param>
public sealed record VfioMsiShape(int Vectors, bool Is64Bit)
{
    /// <summary>Bytes the capability occupies.</summary>
    public int Length => Is64Bit ? MsiRegisters.Length64 : MsiRegisters.Length32;

    /// <summary>Offset of the data register in the capability.</summary>
    public int DataOffset => Is64Bit ? MsiRegisters.Data64 : MsiRegisters.Data32;

    /// <summary>
    /// The virtual capability: message control with the vector count and address width (per-vector masking is not
    /// offered), enable and multiple-message-enable writable; address and data registers writable.
    /// </summary>
    public PciCapability ToCapability()
    {
        var body = new byte[Length - PciCapability.HeaderSize];
        var mask = new byte[body.Length];
        const int control = MsiRegisters.MessageControl - PciCapability.HeaderSize;
        ushort capable = (ushort)((BitOperations.Log2((uint)Vectors) << MsiRegisters.MultipleMessageCapableShift) | (Is64Bit ? MsiRegisters.Address64 : 0));
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(control), capable);
        BinaryPrimitives.WriteUInt16LittleEndian(mask.AsSpan(control), MsiRegisters.Enable | MsiRegisters.MultipleMessageEnableMask);
        BinaryPrimitives.WriteUInt32LittleEndian(mask.AsSpan(MsiRegisters.AddressLow - PciCapability.HeaderSize), MsiRegisters.AddressLowWritable);
        if (Is64Bit)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(mask.AsSpan(MsiRegisters.AddressHigh - PciCapability.HeaderSize), uint.MaxValue);
        }

        BinaryPrimitives.WriteUInt16LittleEndian(mask.AsSpan(DataOffset - PciCapability.HeaderSize), ushort.MaxValue);
        return new PciCapability(PciCapabilityId.Msi, [.. body], [.. mask]);
    }
}

/// <summary>
/// A passed-through PCI function as the guest will see it, read once from the device: identity and interrupt pin from
/// its configuration region, BAR kinds from its BAR registers and BAR sizes from VFIO's region sizes, and MSI/MSI-X
/// from its capability list. Only MSI and MSI-X are offered to the guest (as kvmtool does); other capabilities and
/// the expansion ROM are hidden (the ROM BAR reads 0: no ROM).
/// </summary>
public sealed record VfioPciLayout(PciFunctionDefinition Definition, IReadOnlyDictionary<int, VfioRegionInfo> BarRegions, VfioRegionInfo ConfigRegion, VfioMsiShape? Msi)
{
    /// <summary>Capability list entries followed at most (a loop in a broken list ends here).</summary>
    public const int MaxCapabilities = 48;

    /// <summary>Offset of the MSI capability in the guest's configuration space (the first capability), or -1.</summary>
    public int MsiOffset => Msi is null ? -1 : PciHeader.StandardHeaderSize;

    /// <summary>Reads the layout of <paramref name="device"/>.</summary>
    /// <exception cref="InvalidOperationException">The device is not a usable PCI function (no config region, an unusable BAR or MSI-X table).</exception>
    public static VfioPciLayout Read(IVfioDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        var configRegion = device.GetRegionInfo(VFIO_PCI_CONFIG_REGION_INDEX);
        if (configRegion.Size < PciHeader.ConfigSpaceSize)
        {
            throw new InvalidOperationException($"{device.HostAddress}: the VFIO config region has 0x{configRegion.Size:X} bytes, not a PCI configuration space");
        }

        byte[] config = new byte[PciHeader.ConfigSpaceSize];
        device.Read(configRegion, 0, config);
        ushort vendor = BinaryPrimitives.ReadUInt16LittleEndian(config.AsSpan(PciHeader.VendorId));
        var bars = new List<PciBarDefinition>();
        var regions = new Dictionary<int, VfioRegionInfo>();
        for (int index = 0; index < PciHeader.BarCount; index++)
        {
            var region = device.GetRegionInfo(VFIO_PCI_BAR0_REGION_INDEX + index);
            uint raw = BinaryPrimitives.ReadUInt32LittleEndian(config.AsSpan(PciHeader.Bar(index)));
            if (region.Size == 0)
            {
                continue;
            }

            var kind = (raw & PciBarBits.IoSpace) != 0 ? PciBarKind.Io
                : (raw & PciBarBits.MemoryTypeMask) == PciBarBits.MemoryType64 ? PciBarKind.Memory64 : PciBarKind.Memory32;
            ulong minimum = kind == PciBarKind.Io ? PciBarDefinition.MinIoSize : PciBarDefinition.MinMemorySize;
            ulong size = Math.Max(minimum, BitOperations.RoundUpToPowerOf2(region.Size));
            bars.Add(new PciBarDefinition(index, kind, size, kind != PciBarKind.Io && (raw & PciBarBits.Prefetchable) != 0));
            regions[index] = region;
            if (kind == PciBarKind.Memory64)
            {
                index++;
            }
        }

        int intxCount = device.GetIrqInfo(VFIO_PCI_INTX_IRQ_INDEX).Count;
        int msiCount = device.GetIrqInfo(VFIO_PCI_MSI_IRQ_INDEX).Count;
        int msixCount = device.GetIrqInfo(VFIO_PCI_MSIX_IRQ_INDEX).Count;
        VfioMsiShape? msi = null;
        MsixDefinition? msix = null;
        foreach (int at in Capabilities(config))
        {
            ushort control = BinaryPrimitives.ReadUInt16LittleEndian(config.AsSpan(at + MsiRegisters.MessageControl));
            if (config[at] == PciCapabilityId.Msi && msiCount > 0 && msi is null)
            {
                int capable = 1 << ((control & MsiRegisters.MultipleMessageCapableMask) >> MsiRegisters.MultipleMessageCapableShift);
                int vectors = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Min(capable, msiCount) + 1) / 2;
                msi = new VfioMsiShape(Math.Max(1, vectors), (control & MsiRegisters.Address64) != 0);
            }
            else if (config[at] == PciCapabilityId.MsiX && msixCount > 0 && msix is null)
            {
                uint table = BinaryPrimitives.ReadUInt32LittleEndian(config.AsSpan(at + MsixRegisters.TableOffsetBir));
                uint pba = BinaryPrimitives.ReadUInt32LittleEndian(config.AsSpan(at + MsixRegisters.PbaOffsetBir));
                int vectors = Math.Min((control & MsixRegisters.TableSizeMask) + 1, msixCount);
                msix = new MsixDefinition(vectors, (int)(table & MsixRegisters.BirMask), table & MsixRegisters.OffsetMask, (int)(pba & MsixRegisters.BirMask), pba & MsixRegisters.OffsetMask);
            }
        }

        var pin = intxCount > 0 ? (PciInterruptPin)Math.Min(config[PciHeader.InterruptPin], (byte)PciInterruptPin.IntD) : PciInterruptPin.None;
        var definition = new PciFunctionDefinition
        {
            VendorId = vendor,
            DeviceId = BinaryPrimitives.ReadUInt16LittleEndian(config.AsSpan(PciHeader.DeviceId)),
            ClassCode = new PciClassCode(config[PciHeader.BaseClass], config[PciHeader.SubClass], config[PciHeader.ProgIf]),
            RevisionId = config[PciHeader.RevisionId],
            SubsystemVendorId = BinaryPrimitives.ReadUInt16LittleEndian(config.AsSpan(PciHeader.SubsystemVendorId)),
            SubsystemId = BinaryPrimitives.ReadUInt16LittleEndian(config.AsSpan(PciHeader.SubsystemId)),
            InterruptPin = pin,
            Bars = bars,
            Capabilities = msi is null ? [] : [msi.ToCapability()],
            Msix = msix,
        };
        try
        {
            definition.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new InvalidOperationException($"{device.HostAddress} ({definition.VendorId:x4}:{definition.DeviceId:x4}) cannot be passed through: {ex.Message}", ex);
        }

        return new VfioPciLayout(definition, regions, configRegion, msi);
    }

    // The capability offsets in list order; every pointer is checked to lie in the header's capability area.
    private static List<int> Capabilities(byte[] config)
    {
        var found = new List<int>();
        ushort status = BinaryPrimitives.ReadUInt16LittleEndian(config.AsSpan(PciHeader.Status));
        if ((status & (ushort)PciStatus.CapabilitiesList) == 0)
        {
            return found;
        }

        int at = config[PciHeader.CapabilitiesPointer] & ~3;
        while (at >= PciHeader.StandardHeaderSize && at + MsixRegisters.CapabilityLength <= PciHeader.ConfigSpaceSize && found.Count < MaxCapabilities)
        {
            found.Add(at);
            at = config[at + PciCapability.NextPointer] & ~3;
        }

        return found;
    }
}
