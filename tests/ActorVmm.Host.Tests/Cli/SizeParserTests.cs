using ActorVmm.Host.Cli;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ActorVmm.Host.Tests.Cli;

public class SizeParserTests
{
    private const ulong KiB = 1024;
    private const ulong MiB = 1024 * KiB;
    private const ulong GiB = 1024 * MiB;
    private const ulong TiB = 1024 * GiB;

    [Theory]
    [InlineData("64M", 64 * MiB)]
    [InlineData("1G", GiB)]
    [InlineData("1g", GiB)]
    [InlineData("512K", 512 * KiB)]
    [InlineData("512KiB", 512 * KiB)]
    [InlineData("512kb", 512 * KiB)]
    [InlineData("2T", 2 * TiB)]
    [InlineData("4096B", 4 * KiB)]
    [InlineData(" 16M ", 16 * MiB)]
    public void Sizes_with_units_parse_to_bytes(string text, ulong expected)
    {
        Assert.True(SizeParser.TryParse(text, out ulong bytes, out string? error), error);
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void A_plain_number_is_MiB_as_in_kvmtool()
    {
        const ulong PlainNumber = 128;
        Assert.Equal(PlainNumber * MiB, SizeParser.Parse(PlainNumber.ToString()));
    }

    [Theory]
    [InlineData("12Q", "unknown size unit 'Q'")]
    [InlineData("M", "is not a size")]
    [InlineData("", "is not a size")]
    [InlineData("-1M", "is not a size")]
    [InlineData("1.5G", "unknown size unit '.5G'")]
    [InlineData("0M", "zero size")]
    [InlineData("64iB", "unknown size unit 'iB'")]
    [InlineData("99999999999999999999", "too large")]
    [InlineData("20000000T", "too large")]
    public void Malformed_sizes_are_rejected_with_the_reason(string text, string reason)
    {
        Assert.False(SizeParser.TryParse(text, out _, out string? error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
        var ex = Assert.Throws<FormatException>(() => SizeParser.Parse(text));
        Assert.Equal(error, ex.Message);
    }

    [Theory]
    [InlineData(MiB, "1M")]
    [InlineData(64 * MiB, "64M")]
    [InlineData(1536 * KiB, "1536K")]
    [InlineData(GiB, "1G")]
    [InlineData(1000, "1000B")]
    public void Format_uses_the_largest_unit_that_divides(ulong bytes, string expected) =>
        Assert.Equal(expected, SizeParser.Format(bytes));

    [Property]
    public Property Format_then_parse_round_trips_whole_KiB_sizes(PositiveInt kib)
    {
        ulong bytes = (ulong)kib.Get * KiB;
        return (SizeParser.Parse(SizeParser.Format(bytes)) == bytes).ToProperty();
    }
}
