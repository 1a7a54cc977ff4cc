namespace ActorVmm.Machine.Interrupts;

/// <summary>
/// The xAPIC register page (Intel SDM vol. 3, 11.4.1, table 11-1): offsets inside the 4 KiB page at
/// <see cref="DefaultBase"/>, and the register bits the backends and test guests use. Each register
/// is 32 bits wide at a 16-byte-aligned offset.
/// </summary>
public static class LocalApicRegisters
{
    /// <summary>Guest-physical base of the local APIC page after reset (IA32_APIC_BASE); the MSI window too.</summary>
    public const ulong DefaultBase = 0xFEE0_0000;

    /// <summary>Size of the register page.</summary>
    public const int PageSize = 0x1000;

    /// <summary>Distance between consecutive registers, and between the eight words of ISR/TMR/IRR.</summary>
    public const int Stride = 0x10;

    /// <summary>Local APIC ID register (ID in bits 24–31).</summary>
    public const int Id = 0x020;

    /// <summary>Version register (version in bits 0–7, highest LVT index in bits 16–23).</summary>
    public const int Version = 0x030;

    /// <summary>Task priority register (TPR, bits 0–7).</summary>
    public const int TaskPriority = 0x080;

    /// <summary>Arbitration priority register (APR, not used for delivery on Pentium 4 and later).</summary>
    public const int ArbitrationPriority = 0x090;

    /// <summary>Processor priority register (PPR, read-only: the higher of TPR and the in-service class).</summary>
    public const int ProcessorPriority = 0x0A0;

    /// <summary>End-of-interrupt register (write-only): retires the highest in-service vector.</summary>
    public const int EndOfInterrupt = 0x0B0;

    /// <summary>Remote read register.</summary>
    public const int RemoteRead = 0x0C0;

    /// <summary>Logical destination register (logical APIC ID in bits 24–31).</summary>
    public const int LogicalDestination = 0x0D0;

    /// <summary>Destination format register (model in bits 28–31: 1111b flat, 0000b cluster).</summary>
    public const int DestinationFormat = 0x0E0;

    /// <summary>Spurious-interrupt vector register (vector in bits 0–7, APIC software enable in bit 8).</summary>
    public const int SpuriousVector = 0x0F0;

    /// <summary>In-service register, eight 32-bit words (vectors 0–255) at 0x100–0x170.</summary>
    public const int InService = 0x100;

    /// <summary>Trigger mode register, eight words at 0x180–0x1F0.</summary>
    public const int TriggerMode = 0x180;

    /// <summary>Interrupt request register, eight words at 0x200–0x270.</summary>
    public const int InterruptRequest = 0x200;

    /// <summary>Error status register.</summary>
    public const int ErrorStatus = 0x280;

    /// <summary>Interrupt command register, low half (vector, delivery mode, shorthand); a write sends the IPI.</summary>
    public const int InterruptCommandLow = 0x300;

    /// <summary>Interrupt command register, high half (destination in bits 24–31).</summary>
    public const int InterruptCommandHigh = 0x310;

    /// <summary>LVT timer register.</summary>
    public const int LvtTimer = 0x320;

    /// <summary>LVT thermal sensor register.</summary>
    public const int LvtThermal = 0x330;

    /// <summary>LVT performance monitoring counters register.</summary>
    public const int LvtPerformance = 0x340;

    /// <summary>LVT LINT0 register: the local interrupt pin the 8259's INTR is wired to.</summary>
    public const int LvtLint0 = 0x350;

    /// <summary>LVT LINT1 register: the local interrupt pin NMI is wired to.</summary>
    public const int LvtLint1 = 0x360;

    /// <summary>LVT error register.</summary>
    public const int LvtError = 0x370;

    /// <summary>Timer initial count register.</summary>
    public const int TimerInitialCount = 0x380;

    /// <summary>Timer current count register (read-only).</summary>
    public const int TimerCurrentCount = 0x390;

    /// <summary>Timer divide configuration register.</summary>
    public const int TimerDivide = 0x3E0;

    /// <summary>The ID register's ID field starts at bit 24 (so do LDR's and ICR high's destination).</summary>
    public const int IdShift = 24;

    /// <summary>Version register value: integrated APIC version 0x14, six LVT entries (highest index 5), as KVM reports.</summary>
    public const uint VersionValue = 0x0005_0014;

    /// <summary>SVR bit 8: APIC software enable; clear after reset, when fixed interrupts are not accepted.</summary>
    public const uint SoftwareEnable = 1u << 8;

    /// <summary>SVR value after reset: vector 0xFF, software-disabled.</summary>
    public const uint SpuriousVectorReset = 0xFF;

    /// <summary>Bits 4–7 of a vector or priority: its priority class.</summary>
    public const uint PriorityClassMask = 0xF0;

    /// <summary>LVT bit 16: the entry is masked.</summary>
    public const uint LvtMasked = 1u << 16;

    /// <summary>LVT bits 8–10: delivery mode.</summary>
    public const uint LvtDeliveryModeMask = 0x700;

    /// <summary>Delivery mode 000b: fixed (the vector in bits 0–7).</summary>
    public const uint DeliveryModeFixed = 0x000;

    /// <summary>Delivery mode 100b: NMI.</summary>
    public const uint DeliveryModeNmi = 0x400;

    /// <summary>Delivery mode 101b: INIT.</summary>
    public const uint DeliveryModeInit = 0x500;

    /// <summary>Delivery mode 110b: start-up (SIPI; vector = start page number).</summary>
    public const uint DeliveryModeStartUp = 0x600;

    /// <summary>Delivery mode 111b: ExtINT (the vector comes from the 8259's INTA cycle).</summary>
    public const uint DeliveryModeExtInt = 0x700;

    /// <summary>ICR bit 14: level assert (INIT assert, and every edge IPI).</summary>
    public const uint IcrLevelAssert = 1u << 14;

    /// <summary>DFR model bits 28–31 for the flat model.</summary>
    public const uint DestinationFormatFlat = 0xF000_0000;

    /// <summary>DFR value after reset: flat model, reserved bits 0–27 all ones.</summary>
    public const uint DestinationFormatReset = 0xFFFF_FFFF;
}
