namespace ActorVmm.Devices.Rtc;

/// <summary>
/// Encodes and decodes MC146818 time registers in the format register B selects: BCD or binary
/// (DM bit), 24-hour or 12-hour with bit 7 as PM.
/// </summary>
public readonly record struct RtcTimeCodec(bool Binary, bool Hour24)
{
    /// <summary>Bit 7 of the hours register in 12-hour mode: PM.</summary>
    public const byte PmBit = 0b1000_0000;

    /// <summary>Encodes a 0–99 value (larger values keep their last two decimal digits in BCD).</summary>
    public byte Encode(int value) => Binary ? (byte)value : ToBcd(value);

    /// <summary>Decodes a register value; an invalid BCD nibble is taken at face value.</summary>
    public int Decode(byte value) => Binary ? value : FromBcd(value);

    /// <summary>Encodes hours 0–23 in the selected hour format.</summary>
    public byte EncodeHours(int hours)
    {
        if (Hour24)
        {
            return Encode(hours);
        }

        int twelve = hours % 12 == 0 ? 12 : hours % 12;
        return (byte)(Encode(twelve) | (hours >= 12 ? PmBit : 0));
    }

    /// <summary>Decodes an hours register into 0–23 (12 AM is 0, 12 PM is 12).</summary>
    public int DecodeHours(byte value)
    {
        if (Hour24)
        {
            return Decode(value);
        }

        int twelve = Decode((byte)(value & ~PmBit)) % 12;
        return (value & PmBit) != 0 ? twelve + 12 : twelve;
    }

    /// <summary>Packs 0–99 as two BCD digits.</summary>
    public static byte ToBcd(int value)
    {
        value %= 100;
        return (byte)((value / 10 << 4) | (value % 10));
    }

    /// <summary>Unpacks two BCD digits.</summary>
    public static int FromBcd(byte value) => (value >> 4) * 10 + (value & 0x0F);
}
