using System.Globalization;

namespace ActorVmm.Machine.Passthrough;

/// <summary>A host PCI address as sysfs and lspci -D spell it, DOMAIN:BUS:DEV.FN (kvmtool's --vfio-pci argument).</summary>
/// <param name="Domain">PCI segment, 0–0xFFFF.</param>
/// <param name="Bus">Bus, 0–0xFF.</param>
/// <param name="Device">Device, 0–0x1F.</param>
/// <param name="Function">Function, 0–7.</param>
public readonly record struct VfioPciAddress(int Domain, int Bus, int Device, int Function)
{
    /// <summary>The sysfs name, e.g. 0000:00:03.0.</summary>
    public override string ToString() => $"{Domain:x4}:{Bus:x2}:{Device:x2}.{Function:x1}";

    /// <summary>Parses DOMAIN:BUS:DEV.FN or BUS:DEV.FN (domain 0), hexadecimal; false with a reason when it is not one.</summary>
    public static bool TryParse(string? text, out VfioPciAddress address, out string error)
    {
        address = default;
        error = $"'{text}' is not a PCI address: use DOMAIN:BUS:DEV.FN in hexadecimal, e.g. 0000:00:03.0 (lspci -D lists them)";
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        string[] parts = text.Trim().Split(':');
        if (parts.Length is < 2 or > 3)
        {
            return false;
        }

        string[] devFn = parts[^1].Split('.');
        if (devFn.Length != 2
            || !Hex(parts.Length == 3 ? parts[0] : "0", 4, out int domain)
            || !Hex(parts[^2], 2, out int bus)
            || !Hex(devFn[0], 2, out int device) || device > 0x1F
            || !Hex(devFn[1], 1, out int function) || function > 7)
        {
            return false;
        }

        address = new VfioPciAddress(domain, bus, device, function);
        error = string.Empty;
        return true;
    }

    private static bool Hex(string s, int maxDigits, out int value)
    {
        value = 0;
        return s.Length is > 0 && s.Length <= maxDigits && int.TryParse(s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }
}
