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

    /// <summary>ICR bits 0–7: the vector (for start-up IPIs, the start page: execution begins at vector × 4 KiB).</summary>
    public const uint IcrVectorMask = 0xFF;

    /// <summary>ICR bit 11: destination mode, set for logical destination.</summary>
    public const uint IcrDestinationLogical = 1u << 11;

    /// <summary>ICR bit 12: delivery status, set while an IPI is pending (reads 0 here: sending is instantaneous).</summary>
    public const uint IcrDeliveryPending = 1u << 12;

    /// <summary>ICR bit 15: trigger mode, set for level (INIT level de-assert is the level-triggered INIT with bit 14 clear).</summary>
    public const uint IcrTriggerLevel = 1u << 15;

    /// <summary>ICR bits 18–19: destination shorthand.</summary>
    public const uint IcrShorthandMask = 3u << 18;

    /// <summary>Shorthand 00b: the destination field names the target(s).</summary>
    public const uint IcrShorthandNone = 0u << 18;

    /// <summary>Shorthand 01b: the sending APIC itself.</summary>
    public const uint IcrShorthandSelf = 1u << 18;

    /// <summary>Shorthand 10b: every APIC, the sender included.</summary>
    public const uint IcrShorthandAll = 2u << 18;

    /// <summary>Shorthand 11b: every APIC but the sender.</summary>
    public const uint IcrShorthandAllButSelf = 3u << 18;

    /// <summary>Delivery mode 001b: lowest priority.</summary>
    public const uint DeliveryModeLowestPriority = 0x100;

    /// <summary>Delivery mode 010b: SMI.</summary>
    public const uint DeliveryModeSmi = 0x200;

    /// <summary>LVT bit 15: trigger mode (LINT0/LINT1), set for level.</summary>
    public const uint LvtTriggerLevel = 1u << 15;

    /// <summary>LVT bits 0–7: the vector.</summary>
    public const uint LvtVectorMask = 0xFF;

    /// <summary>LVT timer bits 17–18: timer mode.</summary>
    public const uint TimerModeMask = 3u << 17;

    /// <summary>Timer mode 00b: one-shot (counts down once from the initial count).</summary>
    public const uint TimerModeOneShot = 0u << 17;

    /// <summary>Timer mode 01b: periodic (reloads the initial count at zero).</summary>
    public const uint TimerModePeriodic = 1u << 17;

    /// <summary>Timer mode 10b: TSC-deadline (IA32_TSC_DEADLINE; only where CPUID.1:ECX[24] says so).</summary>
    public const uint TimerModeTscDeadline = 2u << 17;

    /// <summary>Divide configuration bits 0, 1 and 3: the divisor code (bit 2 is reserved).</summary>
    public const uint TimerDivideMask = 0xB;

    /// <summary>Divide configuration 1011b: divide by 1.</summary>
    public const uint TimerDivideBy1 = 0xB;

    /// <summary>Divide configuration 0000b: divide by 2.</summary>
    public const uint TimerDivideBy2 = 0x0;

    /// <summary>Divide configuration 0011b: divide by 16 (what Linux programs).</summary>
    public const uint TimerDivideBy16 = 0x3;

    /// <summary>Divide configuration 1010b: divide by 128.</summary>
    public const uint TimerDivideBy128 = 0xA;

    /// <summary>IA32_APIC_BASE bit 8: this processor is the boot processor.</summary>
    public const ulong ApicBaseBootProcessor = 1UL << 8;

    /// <summary>IA32_APIC_BASE bit 11: the APIC is globally enabled (xAPIC mode).</summary>
    public const ulong ApicBaseEnable = 1UL << 11;
}
