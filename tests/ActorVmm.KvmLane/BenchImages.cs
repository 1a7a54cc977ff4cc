using System.Globalization;
using ActorVmm.TestGuests;

namespace ActorVmm.KvmLane;

/// <summary>
/// The flat guests of bench/emulator-vs-qemu.sh, so actorvmm (<c>run --image NAME.bin</c>) and QEMU TCG
/// (<c>-bios NAME-bios.bin</c>, the <see cref="FlatBiosImage"/> wrapper the VFIO step uses) run byte-identical code:
/// the port-0x80 loop and the 4-instruction ALU loop at N and 2N iterations (the script takes the difference, so
/// each VMM's start-up cancels out), and a guest whose first instructions exit. Each ends through the exit port with
/// status 0.
/// </summary>
public static class BenchImages
{
    /// <summary>Suffix of the firmware image beside each flat binary (NAME-bios.bin).</summary>
    public const string BiosSuffix = "-bios";

    /// <summary>The POST port the exit-heavy loop writes (guest-conventions.md): a registered no-op on both VMMs.</summary>
    public const ushort PostPort = 0x80;

    /// <summary>Guest instructions per ALU loop iteration (add, xor, dec, jnz: <see cref="IoGuests.AluLoop"/>).</summary>
    public const int AluInstructionsPerIteration = 4;

    /// <summary>Name of the guest that exits at once.</summary>
    public const string TinyName = "tiny";

    /// <summary>Name of the exit-heavy loop of <paramref name="iterations"/> iterations.</summary>
    public static string OutLoopName(uint iterations) => string.Create(CultureInfo.InvariantCulture, $"out80-{iterations}");

    /// <summary>Name of the ALU loop of <paramref name="iterations"/> iterations.</summary>
    public static string AluLoopName(uint iterations) => string.Create(CultureInfo.InvariantCulture, $"alu-{iterations}");

    /// <summary>Every image by name: each flat binary and its firmware wrapper (NAME + <see cref="BiosSuffix"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An iteration count is 0 or its double does not fit ECX.</exception>
    public static IReadOnlyDictionary<string, byte[]> Build(uint outIterations, uint aluIterations)
    {
        CheckDoubles(outIterations, nameof(outIterations));
        CheckDoubles(aluIterations, nameof(aluIterations));
        var flat = new Dictionary<string, byte[]>(StringComparer.Ordinal)
        {
            [TinyName] = GuestAssembler.Assemble16(asm => GuestAssembler.EmitExit(asm, 0)),
            [OutLoopName(outIterations)] = IoGuests.OutLoop(PostPort, outIterations),
            [OutLoopName(2 * outIterations)] = IoGuests.OutLoop(PostPort, 2 * outIterations),
            [AluLoopName(aluIterations)] = IoGuests.AluLoop(aluIterations),
            [AluLoopName(2 * aluIterations)] = IoGuests.AluLoop(2 * aluIterations),
        };
        var all = new Dictionary<string, byte[]>(flat, StringComparer.Ordinal);
        foreach (var (name, image) in flat)
        {
            all[name + BiosSuffix] = FlatBiosImage.Wrap(image);
        }

        return all;
    }

    // The loops count ECX down from the iteration count: N and 2N must both be non-zero 32-bit counts.
    private static void CheckDoubles(uint iterations, string name)
    {
        if (iterations is 0 or > uint.MaxValue / 2)
        {
            throw new ArgumentOutOfRangeException(name, iterations, $"an iteration count from 1 to {uint.MaxValue / 2} (the loops run it and twice it in ECX)");
        }
    }
}
