using System.Numerics;
using ActorVmm.TestGuests;
using static ActorVmm.TestGuests.InstructionMixGuest;

namespace ActorVmm.Emulator.Tests;

public sealed class InstructionMixTests
{
    [Fact]
    public void String_stack_loop_division_bitscan_and_locked_memory_instructions_compute_what_the_sdm_says()
    {
        using var harness = new EmulatorHarness(Build());
        var results = harness.CapturePortWrites(IoGuests.ResultPort, 2);

        harness.RunToCompletion();

        var expected = new Dictionary<Check, ulong>
        {
            [Check.CompareRemaining] = 0,
            [Check.CopiedByte] = Source[CopyProbeIndex],
            [Check.ScanOffset] = (ulong)Source.IndexOf(ScanTarget, StringComparison.Ordinal) + 1,
            [Check.FilledWord] = FillWord,
            [Check.FillEnd] = FillWords * sizeof(ushort),
            [Check.LoopSum] = (ulong)Enumerable.Range(1, LoopCount).Sum(),
            [Check.CallResult] = (ulong)(ArgumentA + ArgumentB),
            [Check.DivResult] = (ulong)(((Dividend % Divisor) << 8) | (Dividend / Divisor)),
            [Check.ForwardScan] = (ulong)BitOperations.TrailingZeroCount(BitPattern),
            [Check.ReverseScan] = (ulong)(31 - BitOperations.LeadingZeroCount((uint)BitPattern)),
            [Check.XaddOld] = XaddMemory,
            [Check.XaddSum] = (ulong)(XaddMemory + XaddRegister),
            [Check.CmpxchgStored] = CmpxchgNew,
            [Check.ImulResult] = unchecked((ushort)(ImulInput * ImulFactor)),
            [Check.Translated] = Source[XlatIndex],
        };
        var actual = results.ToArray();
        Assert.Equal(Enum.GetValues<Check>().Length, actual.Length);
        foreach (var check in Enum.GetValues<Check>())
        {
            Assert.True(expected[check] == actual[(int)check], $"{check}: expected 0x{expected[check]:X}, got 0x{actual[(int)check]:X}");
        }
    }
}
