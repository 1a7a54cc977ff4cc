using ActorVmm.Machine.Traps;

namespace ActorVmm.Devices.Serial;

/// <summary>Where a UART sits and which interrupt it drives.</summary>
/// <param name="Name">Device name for logs and regions ("com1").</param>
/// <param name="Bus">Port I/O on x86; MMIO on arm64's platform bus.</param>
/// <param name="Base">First port or guest-physical address of the eight registers.</param>
/// <param name="Irq">The interrupt (GSI) the UART drives.</param>
/// <param name="Out2GatesInterrupt">True where MCR.OUT2 gates the interrupt, as on PC boards.</param>
public sealed record SerialPortSpec(string Name, TrapBus Bus, ulong Base, int Irq, bool Out2GatesInterrupt = true)
{
    /// <summary>COM1's first port (THR/RBR), for guest code that drives it.</summary>
    public const ushort Com1Port = 0x3F8;

    /// <summary>COM1: ports 0x3F8–0x3FF, IRQ 4.</summary>
    public static readonly SerialPortSpec Com1 = new("com1", TrapBus.Pio, Com1Port, 4);

    /// <summary>COM2: ports 0x2F8–0x2FF, IRQ 3.</summary>
    public static readonly SerialPortSpec Com2 = new("com2", TrapBus.Pio, 0x2F8, 3);

    /// <summary>COM3: ports 0x3E8–0x3EF, IRQ 4 (shared with COM1, as on PCs).</summary>
    public static readonly SerialPortSpec Com3 = new("com3", TrapBus.Pio, 0x3E8, 4);

    /// <summary>COM4: ports 0x2E8–0x2EF, IRQ 3 (shared with COM2, as on PCs).</summary>
    public static readonly SerialPortSpec Com4 = new("com4", TrapBus.Pio, 0x2E8, 3);

    /// <summary>The four PC COM ports in order.</summary>
    public static IReadOnlyList<SerialPortSpec> PcComPorts { get; } = [Com1, Com2, Com3, Com4];

    /// <summary>
    /// A UART on the MMIO bus with byte-wide registers at consecutive addresses (kvmtool's arm64 layout puts
    /// one at 0x0100_0000); its interrupt is wired directly, not through OUT2.
    /// </summary>
    public static SerialPortSpec Mmio(string name, ulong baseAddress, int irq) => new(name, TrapBus.Mmio, baseAddress, irq, Out2GatesInterrupt: false);
}
