using ActorVmm.Emulator.Cpu;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.Emulator.Tests.Instructions;

/// <summary>x87 arithmetic in 80-bit extended precision: expected encodings worked out by hand from the formats.</summary>
public sealed class X87ArithmeticTests : IDisposable
{
    private const ushort ExtendedBias = 16383;
    private const ulong IntegerBit = 1UL << 63;
    private const ulong HalfBit = 1UL << 62;

    private readonly CoreFixture _cpu = new();

    public X87ArithmeticTests()
    {
        _cpu.Core.Gpr[X86Core.RBX] = CoreFixture.DataAddress;
        _cpu.Core.Cr0 |= X86Core.Cr0NE;
    }

    [Fact]
    public void Fxtract_splits_a_value_into_its_exponent_and_its_significand()
    {
        const short Value = -24576; // −1.5 × 2^14
        const ushort ExponentOfFourteen = ExtendedBias + 3; // 14 = 1.75 × 2^3
        const ulong FourteenSignificand = IntegerBit | HalfBit | (HalfBit >> 1);
        _cpu.Vm.Memory.Write(CoreFixture.DataAddress, Value);
        _cpu.Load(a =>
        {
            a.fninit();
            a.fild(__word_ptr[rbx]);
            a.fxtract();
        });

        _cpu.Step(3);

        Assert.Equal(((ushort)0x8000 | ExtendedBias, IntegerBit | HalfBit), St(0));
        Assert.Equal((ExponentOfFourteen, FourteenSignificand), St(1));
    }

    private (ushort SignExponent, ulong Significand) St(int index)
    {
        int top = (_cpu.Core.Fsw & X86Core.FswTopMask) >> X86Core.FswTopShift;
        return _cpu.Core.X87Register((top + index) & 7);
    }

    public void Dispose() => _cpu.Dispose();
}
