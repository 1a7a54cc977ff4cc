namespace ActorVmm.Devices.Legacy;

/// <summary>
/// The x86 legacy ports that have no real device here, after kvmtool's <c>x86/ioport.c</c>, plus the POST
/// and boot-time ports. Built from <see cref="LegacyPortOptions"/> with no overlapping ranges: the FPU
/// range 0xF0–0xFF is split around the exit port (0xF4 by default), which sits inside it and belongs to
/// its own device (<see cref="ExitPort.ExitPortDevice"/>).
/// </summary>
public static class LegacyPortMap
{
    /// <summary>DMA controller 1 (8237), channels 0–3.</summary>
    public const ushort Dma1First = 0x00;

    /// <summary>Ports of DMA controller 1.</summary>
    public const ushort Dma1Length = 0x20;

    /// <summary>POST/debug port: Linux's io_delay writes here too (outb_p), so it is busy.</summary>
    public const ushort PostCodePort = 0x80;

    /// <summary>PS/2 system control port A: A20 gate and fast reset.</summary>
    public const ushort SystemControlAPort = 0x92;

    /// <summary>DMA controller 2 (8237), channels 4–7.</summary>
    public const ushort Dma2First = 0xC0;

    /// <summary>Ports of DMA controller 2.</summary>
    public const ushort Dma2Length = 0x20;

    /// <summary>The "unused" port Linux can use for I/O delays (io_delay=0xed).</summary>
    public const ushort DelayPort = 0xED;

    /// <summary>Math coprocessor ports 0xF0 (clear busy) to 0xFF.</summary>
    public const ushort FpuFirst = 0xF0;

    /// <summary>Last math coprocessor port.</summary>
    public const ushort FpuLast = 0xFF;

    /// <summary>Parallel port at 0x278 (LPT2 on most PCs): data, status, control.</summary>
    public const ushort Lpt278First = 0x278;

    /// <summary>Parallel port at 0x378 (LPT1 on most PCs).</summary>
    public const ushort Lpt378First = 0x378;

    /// <summary>Parallel port at 0x3BC (on monochrome display adapters).</summary>
    public const ushort Lpt3BcFirst = 0x3BC;

    /// <summary>Ports a parallel port decodes (data, status, control).</summary>
    public const ushort LptLength = 3;

    /// <summary>Colour VGA CRT controller index/data ports (kvmtool claims them so vgacon probes stay quiet).</summary>
    public const ushort VgaCrtFirst = 0x3D4;

    /// <summary>Ports of the VGA CRT controller pair.</summary>
    public const ushort VgaCrtLength = 2;

    /// <summary>Builds the ranges for <paramref name="options"/>, sorted by port.</summary>
    /// <exception cref="ArgumentException">The exit or boot-time port collides with another legacy port.</exception>
    public static IReadOnlyList<LegacyPortRange> Build(LegacyPortOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var ranges = new List<LegacyPortRange>
        {
            new("dma1", LegacyPortKind.Benign, Dma1First, Dma1Length),
            new("post", LegacyPortKind.PostCode, PostCodePort, 1),
            new("sysctl-a", LegacyPortKind.SystemControlA, SystemControlAPort, 1),
            new("dma2", LegacyPortKind.Benign, Dma2First, Dma2Length),
            new("delay", LegacyPortKind.Benign, DelayPort, 1),
            new("lpt-278", LegacyPortKind.Benign, Lpt278First, LptLength),
            new("lpt-378", LegacyPortKind.Benign, Lpt378First, LptLength),
            new("lpt-3bc", LegacyPortKind.Benign, Lpt3BcFirst, LptLength),
            new("vga-crt", LegacyPortKind.Benign, VgaCrtFirst, VgaCrtLength),
        };
        ranges.AddRange(FpuRanges(options.ExitPort));

        EnsureFree(ranges, "exit", options.ExitPort);
        EnsureFree(ranges, "boot-time", options.BootTimePort);
        if (options.BootTimePort is { } bootTime)
        {
            ranges.Add(new LegacyPortRange("boot-time", LegacyPortKind.BootTime, bootTime, 1));
        }

        ranges.Sort((a, b) => a.First.CompareTo(b.First));
        return ranges;
    }

    /// <summary>0xF0–0xFF without the exit port, as one or two ranges.</summary>
    private static IEnumerable<LegacyPortRange> FpuRanges(ushort? exitPort)
    {
        if (exitPort is not { } exit || exit < FpuFirst || exit > FpuLast)
        {
            yield return new("fpu", LegacyPortKind.Benign, FpuFirst, FpuLast - FpuFirst + 1);
            yield break;
        }

        if (exit > FpuFirst)
        {
            yield return new("fpu", LegacyPortKind.Benign, FpuFirst, (ushort)(exit - FpuFirst));
        }

        if (exit < FpuLast)
        {
            yield return new("fpu-high", LegacyPortKind.Benign, (ushort)(exit + 1), (ushort)(FpuLast - exit));
        }
    }

    private static void EnsureFree(List<LegacyPortRange> ranges, string name, ushort? port)
    {
        if (port is not { } value)
        {
            return;
        }

        var clash = ranges.FirstOrDefault(r => r.Contains(value));
        if (clash is not null)
        {
            throw new ArgumentException($"The {name} port 0x{value:X} collides with legacy range '{clash.Name}' [0x{clash.First:X}..0x{clash.Last:X}]", nameof(port));
        }
    }
}
