using System.Buffers.Binary;
using System.Collections.Immutable;
using ActorVmm.Devices.Pci.Msix;

namespace ActorVmm.Devices.Pci;

/// <summary>
/// The 256 bytes of a type-0 configuration space as registers (pure; the owning <see cref="PciFunction"/> serializes
/// it): every byte has a guest-writable mask and a write-one-to-clear mask, as QEMU models config space, so an access
/// of any width at any offset is applied byte by byte and read-only bits never change. BAR sizing falls out of the
/// masks: the address bits below the BAR's size and its type bits are read-only, so writing all ones reads back the
/// size mask with the type bits.
/// </summary>
internal sealed class PciConfigSpace
{
    private readonly PciFunctionDefinition _definition;
    private readonly byte[] _bytes = new byte[PciHeader.ConfigSpaceSize];
    private readonly byte[] _writable = new byte[PciHeader.ConfigSpaceSize];
    private readonly byte[] _clearable = new byte[PciHeader.ConfigSpaceSize];
    private readonly byte[] _powerOn;

    /// <summary>Lays out the header, BARs and capabilities of a validated definition.</summary>
    public PciConfigSpace(PciFunctionDefinition definition, byte interruptLine)
    {
        _definition = definition;
        SetWord(PciHeader.VendorId, definition.VendorId);
        SetWord(PciHeader.DeviceId, definition.DeviceId);
        SetWord(_writable, PciHeader.Command, (ushort)PciCommandBits.Writable);
        SetWord(_clearable, PciHeader.Status, (ushort)PciStatusBits.WriteOneToClear);
        _bytes[PciHeader.RevisionId] = definition.RevisionId;
        _bytes[PciHeader.ProgIf] = definition.ClassCode.ProgIf;
        _bytes[PciHeader.SubClass] = definition.ClassCode.SubClass;
        _bytes[PciHeader.BaseClass] = definition.ClassCode.BaseClass;
        _writable[PciHeader.CacheLineSize] = byte.MaxValue;
        _writable[PciHeader.LatencyTimer] = byte.MaxValue;
        _bytes[PciHeader.HeaderType] = PciHeader.HeaderTypeEndpoint;
        foreach (var bar in definition.Bars)
        {
            SetDword(_bytes, PciHeader.Bar(bar.Index), bar.TypeBits);
            SetDword(_writable, PciHeader.Bar(bar.Index), bar.LowAddressMask);
            if (bar.Kind == PciBarKind.Memory64)
            {
                SetDword(_writable, PciHeader.Bar(bar.Index + 1), bar.HighAddressMask);
            }
        }

        SetWord(PciHeader.SubsystemVendorId, definition.SubsystemVendorId);
        SetWord(PciHeader.SubsystemId, definition.SubsystemId);
        _bytes[PciHeader.InterruptLine] = interruptLine;
        _writable[PciHeader.InterruptLine] = byte.MaxValue;
        _bytes[PciHeader.InterruptPin] = (byte)definition.InterruptPin;
        LayOutCapabilities(definition);
        _powerOn = [.. _bytes];
    }

    /// <summary>Offset of the MSI-X capability, or -1.</summary>
    public int MsixCapabilityOffset { get; private set; } = -1;

    /// <summary>The command register.</summary>
    public PciCommand Command => (PciCommand)ReadWord(PciHeader.Command);

    /// <summary>The status register.</summary>
    public PciStatus Status => (PciStatus)ReadWord(PciHeader.Status);

    /// <summary>The interrupt line register.</summary>
    public byte InterruptLine => _bytes[PciHeader.InterruptLine];

    /// <summary>MSI-X message control (0 without MSI-X).</summary>
    public ushort MsixControl => MsixCapabilityOffset < 0 ? (ushort)0 : ReadWord(MsixCapabilityOffset + MsixRegisters.MessageControl);

    /// <summary>Header type bit 7, set by the slot when the device has other functions.</summary>
    public bool MultiFunction
    {
        get => (_bytes[PciHeader.HeaderType] & PciHeader.HeaderTypeMultiFunction) != 0;
        set => _bytes[PciHeader.HeaderType] = (byte)((_bytes[PciHeader.HeaderType] & ~PciHeader.HeaderTypeMultiFunction) | (value ? PciHeader.HeaderTypeMultiFunction : 0));
    }

    /// <summary>Reads <paramref name="size"/> bytes little-endian; bytes past 255 (PCIe extended space) read 0.</summary>
    public uint Read(int offset, int size)
    {
        uint value = 0;
        for (int i = size - 1; i >= 0; i--)
        {
            int at = offset + i;
            value = (value << 8) | (at < PciHeader.ConfigSpaceSize ? _bytes[at] : 0u);
        }

        return value;
    }

    /// <summary>Writes <paramref name="size"/> bytes little-endian through the masks; bytes past 255 are dropped.</summary>
    public void Write(int offset, int size, uint value)
    {
        for (int i = 0; i < size; i++)
        {
            int at = offset + i;
            if (at >= PciHeader.ConfigSpaceSize)
            {
                break;
            }

            byte b = (byte)(value >> (8 * i));
            byte merged = (byte)((_bytes[at] & ~_writable[at]) | (b & _writable[at]));
            _bytes[at] = (byte)(merged & ~(b & _clearable[at]));
        }
    }

    /// <summary>Sets or clears status bits from the device side (interrupt status, error bits), bypassing the guest masks.</summary>
    public void SetStatus(PciStatus bits, bool on)
    {
        var status = on ? Status | bits : Status & ~bits;
        SetWord(PciHeader.Status, (ushort)status);
    }

    /// <summary>
    /// Where <paramref name="bar"/> decodes now (<see cref="PciBarPlacement"/>): enabled needs the command decode bit
    /// and a fully programmed BAR (non-zero, neither register with all address bits set, I/O inside 64 KiB).
    /// </summary>
    public PciBarPlacement Placement(PciBarDefinition bar)
    {
        uint low = ReadDword(PciHeader.Bar(bar.Index));
        uint lowMask = bar.LowAddressMask;
        ulong address = low & (bar.Kind == PciBarKind.Io ? PciBarBits.IoAddressMask : PciBarBits.MemoryAddressMask);

        // A register whose address bits are all ones is being sized (a 64-bit BAR above 4 GiB has none in its low half).
        bool sizing = lowMask != 0 && (low & lowMask) == lowMask;
        if (bar.Kind == PciBarKind.Memory64)
        {
            uint high = ReadDword(PciHeader.Bar(bar.Index + 1));
            address |= (ulong)high << 32;
            sizing |= (high & bar.HighAddressMask) == bar.HighAddressMask;
        }

        bool inSpace = bar.Kind != PciBarKind.Io || address + bar.Size - 1 <= PciIoSpace.LastPort;
        if (sizing || address == 0 || !inSpace)
        {
            return PciBarPlacement.Unplaced;
        }

        var decode = bar.Kind == PciBarKind.Io ? PciCommand.IoSpace : PciCommand.MemorySpace;
        return new PciBarPlacement(address, (Command & decode) != 0);
    }

    /// <summary>The 256 bytes.</summary>
    public ImmutableArray<byte> Capture() => [.. _bytes];

    /// <summary>Loads captured bytes after checking that every read-only bit matches this function's definition.</summary>
    /// <exception cref="DeviceStateException">A read-only bit differs (the state is from another function).</exception>
    public void Restore(ImmutableArray<byte> bytes)
    {
        if (bytes.Length != PciHeader.ConfigSpaceSize)
        {
            throw new DeviceStateException($"PCI config state has {bytes.Length} bytes, not {PciHeader.ConfigSpaceSize}");
        }

        for (int at = 0; at < PciHeader.ConfigSpaceSize; at++)
        {
            int free = _writable[at] | _clearable[at] | DynamicBits(at);
            if (((bytes[at] ^ _powerOn[at]) & ~free) != 0)
            {
                throw new DeviceStateException($"PCI config state byte 0x{at:X2} is 0x{bytes[at]:X2}; {_definition.VendorId:x4}:{_definition.DeviceId:x4} has read-only bits 0x{_powerOn[at] & ~free:X2} there");
            }
        }

        bool multiFunction = MultiFunction;
        bytes.CopyTo(_bytes);
        MultiFunction = multiFunction;
    }

    /// <summary>Back to power-on values; the multi-function bit (slot wiring) stays.</summary>
    public void Reset()
    {
        bool multiFunction = MultiFunction;
        _powerOn.CopyTo(_bytes, 0);
        MultiFunction = multiFunction;
    }

    /// <summary>Reads a 16-bit register.</summary>
    public ushort ReadWord(int offset) => BinaryPrimitives.ReadUInt16LittleEndian(_bytes.AsSpan(offset));

    /// <summary>Reads a 32-bit register.</summary>
    public uint ReadDword(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan(offset));

    // Bits the device itself changes at run time: interrupt status and the slot's multi-function bit.
    private static int DynamicBits(int at) => at switch
    {
        PciHeader.Status => (int)PciStatus.InterruptStatus,
        PciHeader.HeaderType => PciHeader.HeaderTypeMultiFunction,
        _ => 0,
    };

    private static void SetWord(byte[] target, int offset, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(target.AsSpan(offset), value);

    private static void SetDword(byte[] target, int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(target.AsSpan(offset), value);

    private void SetWord(int offset, ushort value) => SetWord(_bytes, offset, value);

    private void LayOutCapabilities(PciFunctionDefinition definition)
    {
        var capabilities = definition.AllCapabilities();
        if (capabilities.Count == 0)
        {
            return;
        }

        SetStatus(PciStatus.CapabilitiesList, true);
        int pointer = PciHeader.CapabilitiesPointer;
        int offset = PciHeader.StandardHeaderSize;
        for (int i = 0; i < capabilities.Count; i++)
        {
            var capability = capabilities[i];
            _bytes[pointer] = (byte)offset;
            _bytes[offset] = capability.Id;
            capability.Body.CopyTo(_bytes, offset + PciCapability.HeaderSize);
            capability.WritableMask.CopyTo(_writable, offset + PciCapability.HeaderSize);
            if (definition.Msix is not null && i == capabilities.Count - 1)
            {
                MsixCapabilityOffset = offset;
            }

            pointer = offset + PciCapability.NextPointer;
            offset += PciFunctionDefinition.Align(capability.Length);
        }
    }
}
