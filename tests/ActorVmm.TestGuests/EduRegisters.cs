namespace ActorVmm.TestGuests;

/// <summary>
/// QEMU's educational PCI device ("edu", docs/specs/edu.rst in QEMU): its IDs and the registers of its 1 MiB BAR 0.
/// Offsets below 0x80 take 32-bit accesses only; the DMA registers take 32- or 64-bit ones.
/// </summary>
public static class EduRegisters
{
    /// <summary>Vendor ID 0x1234 | device ID 0x11E8 &lt;&lt; 16, as a dword config read at 0 returns them.</summary>
    public const uint Ids = 0x11E8_1234;

    /// <summary>BAR 0 size: 1 MiB of 32-bit, non-prefetchable memory.</summary>
    public const uint Bar0Size = 0x10_0000;

    /// <summary>0x00 (RO): identification, 0xRRrr00ED (major, minor version).</summary>
    public const int Identification = 0x00;

    /// <summary>The identification value of edu 1.0.</summary>
    public const uint IdentificationValue = 0x0100_00ED;

    /// <summary>0x04 (RW): liveness check; reads the bitwise inverse of the last value written.</summary>
    public const int Liveness = 0x04;

    /// <summary>0x08 (RW): factorial; a write starts computing the factorial of the value, read it once not computing.</summary>
    public const int Factorial = 0x08;

    /// <summary>0x20 (RW): status.</summary>
    public const int Status = 0x20;

    /// <summary>Status bit 0 (RO): a factorial is being computed.</summary>
    public const uint StatusComputing = 0x01;

    /// <summary>0x24 (RO): interrupt status, the OR of the values that raised the interrupt.</summary>
    public const int InterruptStatus = 0x24;

    /// <summary>0x60 (WO): interrupt raise; the value is ORed into the interrupt status and the interrupt raised.</summary>
    public const int InterruptRaise = 0x60;

    /// <summary>0x64 (WO): interrupt acknowledge; the value is cleared from the interrupt status (INTx drops at 0).</summary>
    public const int InterruptAcknowledge = 0x64;

    /// <summary>0x80 (RW): DMA source address (a bus address, or <see cref="DmaBuffer"/> + offset).</summary>
    public const int DmaSource = 0x80;

    /// <summary>0x88 (RW): DMA destination address.</summary>
    public const int DmaDestination = 0x88;

    /// <summary>0x90 (RW): DMA transfer count in bytes.</summary>
    public const int DmaCount = 0x90;

    /// <summary>0x98 (RW): DMA command.</summary>
    public const int DmaCommand = 0x98;

    /// <summary>DMA command bit 0: start the transfer; reads 1 until it is done.</summary>
    public const uint DmaStart = 0x01;

    /// <summary>DMA command bit 1: direction, 0 from RAM to the device, 1 from the device to RAM.</summary>
    public const uint DmaToRam = 0x02;

    /// <summary>The device's 4 KiB DMA buffer, addressed as this offset in the DMA source/destination registers.</summary>
    public const uint DmaBuffer = 0x4_0000;

    /// <summary>Size of the DMA buffer.</summary>
    public const uint DmaBufferSize = 0x1000;

    /// <summary>Highest bus address the device's DMA reaches by default (a 28-bit mask).</summary>
    public const uint DmaMask = (1u << 28) - 1;
}
