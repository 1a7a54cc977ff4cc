namespace ActorVmm.Devices.Pci;

/// <summary>The interrupt pin register's values (0x3D): which INTx pin a function uses.</summary>
public enum PciInterruptPin : byte
{
    /// <summary>The function uses no INTx pin.</summary>
    None = 0,

    /// <summary>INTA#.</summary>
    IntA = 1,

    /// <summary>INTB#.</summary>
    IntB = 2,

    /// <summary>INTC#.</summary>
    IntC = 3,

    /// <summary>INTD#.</summary>
    IntD = 4,
}
