using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Pci.Msix;

namespace ActorVmm.Devices.Tests.Pci;

/// <summary>
/// The tests' own reading of the PCI spec, independent of the implementation: which bits a guest may change, and
/// where a BAR must decode given what its registers and the command register read.
/// </summary>
internal static class PciModel
{
    /// <summary>Bits 1:0 of an I/O BAR: the I/O space bit and a reserved bit, never address bits.</summary>
    public const uint IoBarTypeBits = 0x3;

    /// <summary>Bits 3:0 of a memory BAR: space, type and prefetchable bits, never address bits.</summary>
    public const uint MemoryBarTypeBits = 0xF;

    /// <summary>Ports an I/O BAR can reach: 64 KiB.</summary>
    public const ulong IoPortSpaceSize = 0x1_0000;

    /// <summary>Sizes from here on have no address bits in a 64-bit BAR's low register.</summary>
    public const ulong FourGiB = 1UL << 32;

    /// <summary>Command bits the spec lets software set on a device like the test function (the others are hard-wired 0).</summary>
    public const PciCommand WritableCommand =
        PciCommand.IoSpace | PciCommand.MemorySpace | PciCommand.BusMaster | PciCommand.ParityErrorResponse | PciCommand.Serr | PciCommand.InterruptDisable;

    /// <summary>Status error bits software clears by writing 1.</summary>
    public const PciStatus ClearableStatus =
        PciStatus.MasterDataParityError | PciStatus.SignaledTargetAbort | PciStatus.ReceivedTargetAbort
        | PciStatus.ReceivedMasterAbort | PciStatus.SignaledSystemError | PciStatus.DetectedParityError;

    /// <summary>Per byte of config space, the bits a guest write (or a write-one-to-clear) may change.</summary>
    public static byte[] ChangeableBits(PciFunction function)
    {
        var bits = new byte[PciHeader.ConfigSpaceSize];
        SetWord(bits, PciHeader.Command, (ushort)WritableCommand);
        SetWord(bits, PciHeader.Status, (ushort)ClearableStatus);
        bits[PciHeader.CacheLineSize] = byte.MaxValue;
        bits[PciHeader.LatencyTimer] = byte.MaxValue;
        bits[PciHeader.InterruptLine] = byte.MaxValue;
        foreach (var bar in function.Definition.Bars)
        {
            ulong addressBits = ~(bar.Size - 1) & ~(ulong)TypeBits(bar);
            SetDword(bits, PciHeader.Bar(bar.Index), (uint)addressBits);
            if (bar.Kind == PciBarKind.Memory64)
            {
                SetDword(bits, PciHeader.Bar(bar.Index + 1), (uint)(addressBits >> 32));
            }
        }

        for (int cap = (int)function.ReadConfig(PciHeader.CapabilitiesPointer, 1); cap != 0; cap = (int)function.ReadConfig(cap + PciCapability.NextPointer, 1))
        {
            if (function.ReadConfig(cap, 1) == PciCapabilityId.MsiX)
            {
                SetWord(bits, cap + MsixRegisters.MessageControl, MsixRegisters.Enable | MsixRegisters.FunctionMask);
            }
            else if (function.ReadConfig(cap, 1) == PciCapabilityId.VendorSpecific)
            {
                // TestPciDevice.VendorCapability: the second body byte is writable.
                bits[cap + PciCapability.HeaderSize + 1] = byte.MaxValue;
            }
        }

        return bits;
    }

    /// <summary>All 256 bytes as the guest reads them.</summary>
    public static byte[] Dump(PciFunction function) => [.. Enumerable.Range(0, PciHeader.ConfigSpaceSize).Select(i => (byte)function.ReadConfig(i, 1))];

    /// <summary>
    /// Where <paramref name="bar"/> must decode: its address when its registers hold neither 0 nor the sizing read-back,
    /// an I/O BAR only inside 64 KiB, enabled when the command register's decode bit for its space is set.
    /// </summary>
    public static PciBarPlacement ExpectedPlacement(PciFunction function, PciBarDefinition bar)
    {
        uint low = function.ReadConfig(PciHeader.Bar(bar.Index), 4);
        bool io = bar.Kind == PciBarKind.Io;
        ulong address = low & ~TypeBits(bar);
        uint typeBits = low & TypeBits(bar);
        ulong sizeMask = ~(bar.Size - 1);
        bool sizing = bar.Size < FourGiB && low == ((uint)(sizeMask & ~(ulong)TypeBits(bar)) | typeBits);
        if (bar.Kind == PciBarKind.Memory64)
        {
            uint high = function.ReadConfig(PciHeader.Bar(bar.Index + 1), 4);
            address |= (ulong)high << 32;
            sizing |= high == (uint)(sizeMask >> 32);
        }

        if (sizing || address == 0 || (io && address + bar.Size > IoPortSpaceSize))
        {
            return PciBarPlacement.Unplaced;
        }

        var command = (PciCommand)function.ReadConfig(PciHeader.Command, 2);
        return new PciBarPlacement(address, (command & (io ? PciCommand.IoSpace : PciCommand.MemorySpace)) != 0);
    }

    /// <summary>The low bits of <paramref name="bar"/>'s register that are type bits.</summary>
    public static uint TypeBits(PciBarDefinition bar) => bar.Kind == PciBarKind.Io ? IoBarTypeBits : MemoryBarTypeBits;

    private static void SetWord(byte[] bits, int offset, ushort value)
    {
        bits[offset] = (byte)value;
        bits[offset + 1] = (byte)(value >> 8);
    }

    private static void SetDword(byte[] bits, int offset, uint value)
    {
        SetWord(bits, offset, (ushort)value);
        SetWord(bits, offset + 2, (ushort)(value >> 16));
    }
}
