namespace ActorVmm.Devices.Pci;

/// <summary>
/// The enhanced configuration access mechanism (PCIe base spec §7.2.2): each function's 4 KiB of configuration space
/// mapped at window offset bus &lt;&lt; 20 | device &lt;&lt; 15 | function &lt;&lt; 12 | register.
/// </summary>
public static class PciEcam
{
    /// <summary>Offset bits 27:20: bus number.</summary>
    public const int BusShift = 20;

    /// <summary>Offset bits 19:15: device number.</summary>
    public const int DeviceShift = 15;

    /// <summary>Offset bits 14:12: function number.</summary>
    public const int FunctionShift = 12;

    /// <summary>Offset bits 11:0: byte in the function's configuration space.</summary>
    public const ulong RegisterMask = 0xFFF;

    /// <summary>Window bytes per bus (1 MiB).</summary>
    public const ulong BusSize = 1UL << BusShift;

    /// <summary>Largest window: 256 buses.</summary>
    public const ulong MaxWindowSize = 256 * BusSize;

    /// <summary>Splits a window offset (below <see cref="MaxWindowSize"/>) into function and register.</summary>
    public static (PciAddress Function, int Register) Decode(ulong offset) =>
        (new PciAddress((int)(offset >> BusShift) & PciAddress.BusMask, (int)(offset >> DeviceShift) & PciAddress.DeviceMask, (int)(offset >> FunctionShift) & PciAddress.FunctionMask), (int)(offset & RegisterMask));

    /// <summary>The window offset of <paramref name="register"/> of <paramref name="function"/>.</summary>
    public static ulong Offset(PciAddress function, int register) =>
        ((ulong)function.Bus << BusShift) | ((ulong)function.Device << DeviceShift) | ((ulong)function.Function << FunctionShift) | ((ulong)register & RegisterMask);
}
