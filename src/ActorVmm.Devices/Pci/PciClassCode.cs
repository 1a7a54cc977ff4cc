namespace ActorVmm.Devices.Pci;

/// <summary>The 24-bit class code (offsets 0x09–0x0B): base class, sub-class and programming interface.</summary>
/// <param name="BaseClass">Base class (0x0B), e.g. 0x06 bridge.</param>
/// <param name="SubClass">Sub-class (0x0A), e.g. 0x00 host bridge.</param>
/// <param name="ProgIf">Programming interface (0x09).</param>
public readonly record struct PciClassCode(byte BaseClass, byte SubClass, byte ProgIf = 0)
{
    /// <summary>Bridge device, host bridge (06/00/00).</summary>
    public static PciClassCode HostBridge { get; } = new(0x06, 0x00);

    /// <summary>Base class 0xFF: device does not fit any defined class.</summary>
    public static PciClassCode Unclassified { get; } = new(0xFF, 0x00);

    /// <summary>"bbss" as lspci prints a class (<c>[0600]</c>), then the programming interface when non-zero.</summary>
    public override string ToString() => ProgIf == 0 ? $"{BaseClass:x2}{SubClass:x2}" : $"{BaseClass:x2}{SubClass:x2}-{ProgIf:x2}";
}
