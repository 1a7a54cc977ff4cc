namespace ActorVmm.Devices.Pci;

/// <summary>Status register bits (PCI Local Bus 3.0 §6.2.3).</summary>
[Flags]
public enum PciStatus : ushort
{
    /// <summary>Nothing set.</summary>
    None = 0,

    /// <summary>Bit 3: the function's INTx is pending, whatever the interrupt-disable bit (read-only).</summary>
    InterruptStatus = 1 << 3,

    /// <summary>Bit 4: the capabilities pointer at 0x34 is valid (read-only).</summary>
    CapabilitiesList = 1 << 4,

    /// <summary>Bit 5: 66 MHz capable (read-only 0 here).</summary>
    Capable66MHz = 1 << 5,

    /// <summary>Bit 7: fast back-to-back capable (read-only 0 here).</summary>
    FastBackToBackCapable = 1 << 7,

    /// <summary>Bit 8: master data parity error (write one to clear).</summary>
    MasterDataParityError = 1 << 8,

    /// <summary>Bits 10:9: DEVSEL timing (read-only 0, fast).</summary>
    DevselTimingMask = 3 << 9,

    /// <summary>Bit 11: signaled target abort (write one to clear).</summary>
    SignaledTargetAbort = 1 << 11,

    /// <summary>Bit 12: received target abort (write one to clear).</summary>
    ReceivedTargetAbort = 1 << 12,

    /// <summary>Bit 13: received master abort, e.g. a DMA no one claimed (write one to clear).</summary>
    ReceivedMasterAbort = 1 << 13,

    /// <summary>Bit 14: signaled system error (write one to clear).</summary>
    SignaledSystemError = 1 << 14,

    /// <summary>Bit 15: detected parity error (write one to clear).</summary>
    DetectedParityError = 1 << 15,
}

/// <summary>How the status bits behave on a guest write.</summary>
public static class PciStatusBits
{
    /// <summary>Error bits a guest clears by writing 1 to them (and that only the device sets).</summary>
    public const PciStatus WriteOneToClear =
        PciStatus.MasterDataParityError | PciStatus.SignaledTargetAbort | PciStatus.ReceivedTargetAbort
        | PciStatus.ReceivedMasterAbort | PciStatus.SignaledSystemError | PciStatus.DetectedParityError;
}
