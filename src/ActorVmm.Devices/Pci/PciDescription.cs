using System.Text;

namespace ActorVmm.Devices.Pci;

/// <summary>lspci-like one-line descriptions of functions, for logs and <c>stat</c>.</summary>
public static class PciDescription
{
    /// <summary>
    /// <c>00:02.0 net [0200] 1af4:1041 rev 01 subsys 1af4:1100 cmd io,mem,master INTA irq 17 BAR0 io 0x6200 [0x20]
    /// BAR1 mem32 0xd2000000 (disabled) [0x1000] msix 4 vectors enabled</c>.
    /// </summary>
    public static string Describe(PciAddress address, string name, PciFunction function)
    {
        ArgumentNullException.ThrowIfNull(function);
        var d = function.Definition;
        var line = new StringBuilder();
        line.Append($"{address} {name} [{d.ClassCode}] {d.VendorId:x4}:{d.DeviceId:x4} rev {d.RevisionId:x2}");
        if (d.SubsystemVendorId != 0 || d.SubsystemId != 0)
        {
            line.Append($" subsys {d.SubsystemVendorId:x4}:{d.SubsystemId:x4}");
        }

        line.Append($" cmd {Command(function.Command)}");
        if (d.InterruptPin != PciInterruptPin.None)
        {
            line.Append($" INT{(char)('A' + (int)d.InterruptPin - 1)} irq {function.InterruptLine}{(function.IntxAsserted ? " asserted" : string.Empty)}");
        }

        foreach (var bar in d.Bars.OrderBy(b => b.Index))
        {
            string kind = bar.Kind switch
            {
                PciBarKind.Io => "io",
                PciBarKind.Memory32 => "mem32",
                _ => "mem64",
            };
            line.Append($" BAR{bar.Index} {kind}{(bar.Prefetchable ? " pref" : string.Empty)} {function.Placement(bar.Index)} [0x{bar.Size:x}]");
        }

        if (d.Msix is { } msix)
        {
            line.Append($" msix {msix.VectorCount} vectors {(function.MsixEnabled ? "enabled" : "disabled")}");
        }

        return line.ToString();
    }

    private static string Command(PciCommand command)
    {
        var parts = new List<string>(4);
        if ((command & PciCommand.IoSpace) != 0)
        {
            parts.Add("io");
        }

        if ((command & PciCommand.MemorySpace) != 0)
        {
            parts.Add("mem");
        }

        if ((command & PciCommand.BusMaster) != 0)
        {
            parts.Add("master");
        }

        if ((command & PciCommand.InterruptDisable) != 0)
        {
            parts.Add("intx-off");
        }

        return parts.Count == 0 ? "-" : string.Join(',', parts);
    }
}
