using System.Text;
using ActorVmm.Host.Control;
using FsCheck;
using FsCheck.Fluent;

namespace ActorVmm.Host.Tests.EndToEnd;

/// <summary>A running host of its own for the fuzz test (fuzzed requests may pause or resume its VM).</summary>
public sealed class FuzzHostFixture : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("actorvmm-fuzz-").FullName;

    internal SpinningHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await SpinningHost.StartAsync(_dir, "fuzz-vm");

    public Task DisposeAsync()
    {
        Host.Dispose();
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary>
/// Random bytes, random JSON-like requests and random line lengths sent to a real host's control
/// socket, followed by a newline and a <c>list</c> request on the same, still open connection:
/// every answer is a well-formed response line, and the host either answers that final
/// <c>list</c> (it read everything before it, whatever the bytes were) or has closed the connection
/// after saying a line was too long. The host keeps running and serving throughout.
/// </summary>
public sealed class ControlFuzzTests(FuzzHostFixture fixture) : IClassFixture<FuzzHostFixture>
{
    private static readonly TimeSpan ExchangeWait = TimeSpan.FromSeconds(15);

    // Never "stop": a stopped VM ends its host, which would be the fuzz test's own doing.
    private static readonly string[] Tokens =
    [
        "{", "}", "[", "]", ":", ",", " ", "\n", "\r\n", "\"", "\\", "\\u0000", "\\ud800", "null", "true", "-0", "1e999", "12345678901234567890",
        "\"command\"", "\"name\"", "\"Command\"", "\"list\"", "\"stat\"", "\"pause\"", "\"resume\"", "\"reboot\"", "\"fuzz-vm\"", "\"\"",
        "\u00e9", "\u4e2d", "\ud83d\ude00", "\u0000", "\ufeff",
    ];

    private const int Cases = 300;

    private SpinningHost Host => fixture.Host;

    [Fact]
    public async Task Any_bytes_get_well_formed_answers_or_a_close_and_the_host_lives_on()
    {
        var property = Prop.ForAll(Inputs().ToArbitrary(), input =>
        {
            var answers = Exchange(input).Select(ControlProtocol.ParseResponse).ToList();
            bool wellFormed = answers.All(a => a is not null);
            bool listedLast = answers.Count > 0 && answers[^1] is { Ok: true, Vms: [{ Name: "fuzz-vm" }] };
            bool cutOff = answers.Any(a => a?.Error?.Contains("too long", StringComparison.Ordinal) == true);
            return wellFormed && (listedLast || cutOff) && !Host.Process.HasExited;
        });

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(Cases), property);

        Assert.Equal("fuzz-vm", Assert.Single((await Host.ListAsync()).Vms!).Name);
    }

    /// <summary>Raw bytes of any length up to twice the line limit, JSON-ish token soup (also behind a byte-order mark of another encoding), or one long line near the limit.</summary>
    private static Gen<byte[]> Inputs()
    {
        var bytes = Gen.Choose(0, 2 * ControlProtocol.MaxRequestLength).SelectMany(n => Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>(), n));
        var soup = Gen.Choose(0, 60).SelectMany(n => Gen.ArrayOf(Gen.Elements(Tokens), n)).Select(t => Encoding.UTF8.GetBytes(string.Concat(t)));
        var longLine = Gen.Choose(ControlProtocol.MaxRequestLength - 8, ControlProtocol.MaxRequestLength + 8)
            .SelectMany(n => Gen.Elements(true, false).Select(newline => Encoding.UTF8.GetBytes(new string('x', n) + (newline ? "\n" : string.Empty))));
        byte[][] marks = [Encoding.Unicode.GetPreamble(), Encoding.BigEndianUnicode.GetPreamble(), Encoding.UTF32.GetPreamble(), Encoding.UTF8.GetPreamble()];
        var marked = Gen.Elements(marks).SelectMany(mark => soup.Select(body => (byte[])[.. mark, .. body]));
        return Gen.OneOf(bytes, soup, marked, longLine);
    }

    /// <summary>Sends the input and then a list request, and collects answers until the list is answered or the host closes.</summary>
    private IReadOnlyList<string> Exchange(byte[] input) => ExchangeAsync(input).GetAwaiter().GetResult();

    private async Task<IReadOnlyList<string>> ExchangeAsync(byte[] input)
    {
        using var connection = await RawControlConnection.ConnectAsync(Host.SocketPath);
        try
        {
            byte[] request = [.. input, .. "\n{\"command\":\"list\"}\n"u8];
            await connection.SendAsync(request);
        }
        catch (System.Net.Sockets.SocketException)
        {
            // The host may close first (a line over the limit); what it answered is still read below.
        }

        var deadline = DateTime.UtcNow + ExchangeWait;
        var lines = new List<string>();
        while (await connection.ReadLineAsync(deadline - DateTime.UtcNow) is { } line)
        {
            lines.Add(line);
            if (ControlProtocol.ParseResponse(line) is { Ok: true, Vms: [{ Name: "fuzz-vm" }] })
            {
                break;
            }
        }

        return lines;
    }
}
