namespace ActorVmm.Devices.Pci;

/// <summary>
/// The CONFIG_ADDRESS register of configuration mechanism #1 (port 0xCF8, PCI Local Bus 3.0 §3.2.2.3.2): which
/// function and dword the next access to 0xCFC–0xCFF reaches. Bits 30:24 are reserved (kept, not decoded) and bits
/// 1:0 are ignored for the register number (the data port's lane supplies the byte).
/// </summary>
/// <param name="Value">The 32-bit register as the guest wrote it.</param>
public readonly record struct PciConfigAddress(uint Value)
{
    /// <summary>Bit 31: generate configuration cycles on 0xCFC.</summary>
    public const uint EnableBit = 1u << 31;

    /// <summary>Bits 23:16: bus number.</summary>
    public const int BusShift = 16;

    /// <summary>Bits 15:11: device number.</summary>
    public const int DeviceShift = 11;

    /// <summary>Bits 10:8: function number.</summary>
    public const int FunctionShift = 8;

    /// <summary>Bits 7:2: dword register number, as a byte offset.</summary>
    public const uint RegisterMask = 0xFC;

    /// <summary>True when the data port makes configuration cycles.</summary>
    public bool Enabled => (Value & EnableBit) != 0;

    /// <summary>The addressed function.</summary>
    public PciAddress Function => new((int)(Value >> BusShift) & PciAddress.BusMask, (int)(Value >> DeviceShift) & PciAddress.DeviceMask, (int)(Value >> FunctionShift) & PciAddress.FunctionMask);

    /// <summary>The dword's byte offset in config space (0–252).</summary>
    public int Register => (int)(Value & RegisterMask);

    /// <summary>The register value that addresses <paramref name="register"/>'s dword of <paramref name="function"/> with the enable bit set.</summary>
    public static PciConfigAddress For(PciAddress function, int register) =>
        new(EnableBit | ((uint)function.Bus << BusShift) | ((uint)function.Device << DeviceShift) | ((uint)function.Function << FunctionShift) | ((uint)register & RegisterMask));
}
