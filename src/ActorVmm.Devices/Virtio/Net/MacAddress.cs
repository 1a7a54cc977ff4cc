using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace ActorVmm.Devices.Virtio.Net;

/// <summary>A 48-bit Ethernet MAC address, written as six colon-separated hex pairs (02:15:15:15:15:15).</summary>
public readonly record struct MacAddress
{
    /// <summary>Bytes of an address.</summary>
    public const int Length = 6;

    private readonly ulong _value;

    private MacAddress(ulong value) => _value = value;

    /// <summary>kvmtool's default guest address (02:15:15:15:15:15: locally administered, unicast).</summary>
    public static MacAddress DefaultGuest { get; } = FromBytes([0x02, 0x15, 0x15, 0x15, 0x15, 0x15]);

    /// <summary>True for a multicast (or broadcast) address: the I/G bit of the first byte.</summary>
    public bool IsMulticast => (Byte(0) & 1) != 0;

    /// <summary>Builds an address from its six bytes, first byte first.</summary>
    public static MacAddress FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Length)
        {
            throw new ArgumentException($"A MAC address has {Length} bytes, not {bytes.Length}", nameof(bytes));
        }

        ulong value = 0;
        foreach (byte b in bytes)
        {
            value = (value << 8) | b;
        }

        return new MacAddress(value);
    }

    /// <summary>Parses XX:XX:XX:XX:XX:XX (hex digits of either case); false for anything else.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out MacAddress? address)
    {
        address = null;
        string[] parts = text?.Split(':') ?? [];
        if (parts.Length != Length)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[Length];
        for (int i = 0; i < Length; i++)
        {
            if (parts[i].Length != 2 || !byte.TryParse(parts[i], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out bytes[i]))
            {
                return false;
            }
        }

        address = FromBytes(bytes);
        return true;
    }

    /// <summary>The same address with <paramref name="delta"/> added to its last byte (modulo 256), for the n-th default card.</summary>
    public MacAddress WithLastByteOffset(int delta) => new((_value & ~0xFFUL) | (byte)((_value & 0xFF) + (ulong)delta));

    /// <summary>Writes the six bytes, first byte first.</summary>
    public void CopyTo(Span<byte> destination)
    {
        for (int i = 0; i < Length; i++)
        {
            destination[i] = Byte(i);
        }
    }

    /// <inheritdoc />
    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[Length];
        CopyTo(bytes);
        string hex = Convert.ToHexStringLower(bytes);
        return $"{hex[0..2]}:{hex[2..4]}:{hex[4..6]}:{hex[6..8]}:{hex[8..10]}:{hex[10..12]}";
    }

    private byte Byte(int index) => (byte)(_value >> (8 * (Length - 1 - index)));
}
