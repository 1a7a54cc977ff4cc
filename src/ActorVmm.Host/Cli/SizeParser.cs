namespace ActorVmm.Host.Cli;

/// <summary>
/// Parses memory sizes the way kvmtool's <c>-m/--mem</c> takes them: a plain number is MiB,
/// or a number with a binary unit suffix (K, M, G, T; optionally followed by "iB" or "B"),
/// case-insensitive: <c>64M</c>, <c>1G</c>, <c>512KiB</c>, <c>128</c>.
/// </summary>
public static class SizeParser
{
    /// <summary>Bytes in a KiB.</summary>
    public const ulong KiB = 1024;

    /// <summary>Bytes in a MiB (the unit of a plain number).</summary>
    public const ulong MiB = KiB * 1024;

    /// <summary>Bytes in a GiB.</summary>
    public const ulong GiB = MiB * 1024;

    /// <summary>Bytes in a TiB.</summary>
    public const ulong TiB = GiB * 1024;

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> says why in one line.</summary>
    public static bool TryParse(string? text, out ulong bytes, out string? error)
    {
        bytes = 0;
        string value = (text ?? string.Empty).Trim();
        int digits = 0;
        while (digits < value.Length && char.IsAsciiDigit(value[digits]))
        {
            digits++;
        }

        if (digits == 0)
        {
            error = $"'{text}' is not a size: expected a number with an optional unit K, M, G or T (for example 64M or 1G)";
            return false;
        }

        if (!TryUnit(value[digits..], out ulong unit))
        {
            error = $"'{text}' has an unknown size unit '{value[digits..]}': use K, M, G or T (for example 64M or 1G)";
            return false;
        }

        if (!ulong.TryParse(value.AsSpan(0, digits), out ulong number) || number > ulong.MaxValue / unit)
        {
            error = $"'{text}' is too large a size";
            return false;
        }

        bytes = number * unit;
        if (bytes == 0)
        {
            error = $"'{text}' is a zero size";
            return false;
        }

        error = null;
        return true;
    }

    /// <summary>Parses <paramref name="text"/> or throws <see cref="FormatException"/> with the reason.</summary>
    public static ulong Parse(string text) =>
        TryParse(text, out ulong bytes, out string? error) ? bytes : throw new FormatException(error);

    /// <summary>Formats a byte count with the largest binary unit that divides it (1M, 64M, 1536K).</summary>
    public static string Format(ulong bytes)
    {
        foreach (var (unit, suffix) in new[] { (TiB, "T"), (GiB, "G"), (MiB, "M"), (KiB, "K") })
        {
            if (bytes >= unit && bytes % unit == 0)
            {
                return $"{bytes / unit}{suffix}";
            }
        }

        return $"{bytes}B";
    }

    private static bool TryUnit(string suffix, out ulong unit)
    {
        string s = suffix.ToUpperInvariant();
        // "KiB", "KB" and "K" all mean KiB; a bare "B" means bytes.
        if (s.Length == 3 && s.EndsWith("IB", StringComparison.Ordinal))
        {
            s = s[..1];
        }
        else if (s.Length == 2 && s[1] == 'B')
        {
            s = s[..1];
        }

        unit = s switch
        {
            "" => MiB,
            "B" => 1,
            "K" => KiB,
            "M" => MiB,
            "G" => GiB,
            "T" => TiB,
            _ => 0,
        };
        return unit != 0;
    }
}
