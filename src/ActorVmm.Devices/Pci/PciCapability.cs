using System.Collections.Immutable;

namespace ActorVmm.Devices.Pci;

/// <summary>
/// One record of a function's capabilities list: its ID and body (the bytes after the ID and next-pointer bytes)
/// with a per-byte mask of the bits a guest may write. The configuration space chains the records from
/// <see cref="PciHeader.StandardHeaderSize"/> upwards, each at a dword boundary, and fills in the next pointers.
/// </summary>
/// <param name="Id">Capability ID (<see cref="PciCapabilityId"/>).</param>
/// <param name="Body">Power-on contents after the two header bytes.</param>
/// <param name="WritableMask">Guest-writable bits per body byte; same length as <paramref name="Body"/>.</param>
public sealed record PciCapability(byte Id, ImmutableArray<byte> Body, ImmutableArray<byte> WritableMask)
{
    /// <summary>Bytes of the ID and next-pointer header.</summary>
    public const int HeaderSize = 2;

    /// <summary>Offset of the next-pointer byte inside a capability.</summary>
    public const int NextPointer = 1;

    /// <summary>A read-only capability.</summary>
    public static PciCapability ReadOnly(byte id, ReadOnlySpan<byte> body) => new(id, [.. body], [.. new byte[body.Length]]);

    /// <summary>Bytes the capability occupies in configuration space (header and body).</summary>
    public int Length => HeaderSize + Body.Length;

    /// <summary>Throws <see cref="ArgumentException"/> when the body and mask disagree.</summary>
    public void Validate()
    {
        if (Body.IsDefault || WritableMask.IsDefault || Body.Length != WritableMask.Length)
        {
            throw new ArgumentException($"capability 0x{Id:X2}: body and writable mask must have the same length");
        }
    }
}

/// <summary>Capability IDs (PCI Code and ID Assignment §2).</summary>
public static class PciCapabilityId
{
    /// <summary>PCI power management.</summary>
    public const byte PowerManagement = 0x01;

    /// <summary>MSI.</summary>
    public const byte Msi = 0x05;

    /// <summary>Vendor-specific (virtio-pci's structure pointers).</summary>
    public const byte VendorSpecific = 0x09;

    /// <summary>PCI Express.</summary>
    public const byte PciExpress = 0x10;

    /// <summary>MSI-X.</summary>
    public const byte MsiX = 0x11;
}
