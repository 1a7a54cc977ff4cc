using ActorVmm.Machine.Layout;

namespace ActorVmm.Devices.Pci;

/// <summary>Where configuration space is reachable: the 0xCF8/0xCFC ports (x86) and an ECAM window (from the memory map).</summary>
/// <param name="PortIo">True to decode ports 0xCF8–0xCFF.</param>
/// <param name="EcamBase">ECAM window base (1 MiB aligned); ignored when <paramref name="EcamSize"/> is 0.</param>
/// <param name="EcamSize">ECAM window size: a multiple of 1 MiB (one bus each) up to 256 MiB, or 0 for none.</param>
public sealed record PciConfigWindows(bool PortIo, ulong EcamBase, ulong EcamSize)
{
    /// <summary>The windows of a machine layout: its <see cref="MemoryMap.PciConfigName"/> ECAM window, plus the ports where the layout has a port bus.</summary>
    public static PciConfigWindows For(MemoryMap map)
    {
        ArgumentNullException.ThrowIfNull(map);
        var ecam = map.Region(MemoryMap.PciConfigName);
        bool ports = map.FixedRegions.Any(r => r.Kind == MemoryRegionKind.PortIo);
        return new PciConfigWindows(ports, ecam.Base, ecam.Size);
    }

    /// <summary>True when an ECAM window is decoded.</summary>
    public bool HasEcam => EcamSize != 0;

    /// <summary>Throws <see cref="ArgumentException"/> for an unusable window.</summary>
    public void Validate()
    {
        if (!PortIo && !HasEcam)
        {
            throw new ArgumentException("PCI configuration needs the 0xCF8 ports or an ECAM window");
        }

        if (HasEcam && (EcamSize % PciEcam.BusSize != 0 || EcamSize > PciEcam.MaxWindowSize || EcamBase % PciEcam.BusSize != 0))
        {
            throw new ArgumentException($"ECAM window 0x{EcamBase:X}+0x{EcamSize:X} must be 1 MiB aligned, a whole number of 1 MiB buses, at most 256");
        }
    }
}
