namespace ActorVmm.Devices.Legacy;

/// <summary>What a legacy port range does.</summary>
public enum LegacyPortKind
{
    /// <summary>No device: claimed so probes stay quiet; reads 0xFF, writes ignored (kvmtool's dummy_io).</summary>
    Benign = 0,

    /// <summary>POST/debug port 0x80: writes logged at debug level and latched; reads return the last code.</summary>
    PostCode = 1,

    /// <summary>PS/2 system control port A (0x92): bit 1 A20 (always on), bit 0 fast reset.</summary>
    SystemControlA = 2,

    /// <summary>Boot-time probe: a guest write reports the time since the VM started (Firecracker's boot timer).</summary>
    BootTime = 3,
}

/// <summary>One range of the legacy port map.</summary>
/// <param name="Name">What the ports are on a PC ("dma1", "lpt1").</param>
/// <param name="Kind">How they are handled.</param>
/// <param name="First">First port.</param>
/// <param name="Length">Number of ports.</param>
public sealed record LegacyPortRange(string Name, LegacyPortKind Kind, ushort First, ushort Length)
{
    /// <summary>Last port of the range (inclusive).</summary>
    public int Last => First + Length - 1;

    /// <summary>Whether <paramref name="port"/> falls in the range.</summary>
    public bool Contains(int port) => port >= First && port <= Last;
}
