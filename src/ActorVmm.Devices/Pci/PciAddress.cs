namespace ActorVmm.Devices.Pci;

/// <summary>A function's bus/device/function address (BDF).</summary>
public readonly record struct PciAddress
{
    /// <summary>Devices per bus.</summary>
    public const int DevicesPerBus = 32;

    /// <summary>Functions per device.</summary>
    public const int FunctionsPerDevice = 8;

    /// <summary>Mask of a bus number field (8 bits).</summary>
    public const int BusMask = 0xFF;

    /// <summary>Mask of a device number field (5 bits).</summary>
    public const int DeviceMask = DevicesPerBus - 1;

    /// <summary>Mask of a function number field (3 bits).</summary>
    public const int FunctionMask = FunctionsPerDevice - 1;

    /// <summary>Creates an address; device 0–31 and function 0–7.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Device or function out of range.</exception>
    public PciAddress(int bus, int device, int function)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bus);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bus, byte.MaxValue);
        ArgumentOutOfRangeException.ThrowIfNegative(device);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(device, DevicesPerBus);
        ArgumentOutOfRangeException.ThrowIfNegative(function);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(function, FunctionsPerDevice);
        Bus = bus;
        Device = device;
        Function = function;
    }

    /// <summary>Bus number 0–255.</summary>
    public int Bus { get; }

    /// <summary>Device (slot) number 0–31.</summary>
    public int Device { get; }

    /// <summary>Function number 0–7.</summary>
    public int Function { get; }

    /// <summary>lspci's form: <c>00:1f.3</c>.</summary>
    public override string ToString() => $"{Bus:x2}:{Device:x2}.{Function:x1}";
}
