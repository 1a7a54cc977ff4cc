using Iced.Intel;

namespace ActorVmm.Emulator.Tests;

/// <summary>Random straight-line arithmetic/logic/shift instructions on registers (no memory, no RSP), built from Iced codes.</summary>
internal sealed class AluSequenceGenerator
{
    private static readonly string[] BinaryOps = ["Add", "Or", "Adc", "Sbb", "And", "Sub", "Xor", "Cmp", "Test"];
    private static readonly string[] UnaryOps = ["Inc", "Dec", "Neg", "Not", "Mul", "Imul"];
    private static readonly string[] ShiftOps = ["Shl", "Shr", "Sar", "Rol", "Ror", "Rcl", "Rcr"];
    private static readonly string[] BitOps = ["Bt", "Bts", "Btr", "Btc"];
    private static readonly string[] Conditions = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"];
    private static readonly ulong[] Interesting = [0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, ulong.MaxValue];

    private readonly Random _random;
    private readonly int _bitness;
    private readonly Register[][] _registers;

    public AluSequenceGenerator(int seed, int bitness)
    {
        _random = new Random(seed);
        _bitness = bitness;
        _registers = bitness == 64
            ?
            [
                [],
                [Register.AL, Register.CL, Register.DL, Register.BL, Register.SIL, Register.DIL, Register.R8L, Register.R9L, Register.R15L],
                [Register.AX, Register.CX, Register.DX, Register.BX, Register.BP, Register.SI, Register.DI, Register.R8W, Register.R12W],
                [],
                [Register.EAX, Register.ECX, Register.EDX, Register.EBX, Register.EBP, Register.ESI, Register.EDI, Register.R9D, Register.R14D],
                [], [], [],
                [Register.RAX, Register.RCX, Register.RDX, Register.RBX, Register.RBP, Register.RSI, Register.RDI, Register.R8, Register.R10, Register.R13, Register.R15],
            ]
            :
            [
                [],
                [Register.AL, Register.CL, Register.DL, Register.BL, Register.AH, Register.CH, Register.DH, Register.BH],
                [Register.AX, Register.CX, Register.DX, Register.BX, Register.BP, Register.SI, Register.DI],
                [],
                [Register.EAX, Register.ECX, Register.EDX, Register.EBX, Register.EBP, Register.ESI, Register.EDI],
            ];
    }

    /// <summary>A random register value, biased towards boundary values.</summary>
    public ulong NextValue()
    {
        ulong value = _random.Next(3) == 0
            ? Interesting[_random.Next(Interesting.Length)]
            : (ulong)_random.NextInt64() ^ ((ulong)_random.Next() << 40);
        return _bitness == 64 ? value : value & 0xFFFF_FFFF;
    }

    /// <summary>Random initial status flags.</summary>
    public ulong NextFlags() => 0x2 | ((ulong)_random.Next(0x1000) & 0x8D5);

    public Instruction Next()
    {
        int size = _bitness == 64 ? new[] { 1, 2, 4, 8 }[_random.Next(4)] : new[] { 1, 2, 4 }[_random.Next(3)];
        int bits = size * 8;
        var a = Pick(size);
        var b = Pick(size);
        switch (_random.Next(12))
        {
            case 0:
            case 1:
            case 2:
                return Instruction.Create(CodeOf($"{Pick(BinaryOps)}_rm{bits}_r{bits}"), a, b);
            case 3:
            case 4:
            {
                string op = Pick(BinaryOps);
                string imm = size == 8 ? "imm32" : $"imm{bits}";
                if (size > 1 && op != "Test" && _random.Next(2) == 0)
                {
                    return Instruction.Create(CodeOf($"{op}_rm{bits}_imm8"), a, (int)(sbyte)_random.Next(256));
                }

                return Instruction.Create(CodeOf($"{op}_rm{bits}_{imm}"), a, Immediate(size));
            }

            case 5:
                return Instruction.Create(CodeOf($"{Pick(UnaryOps)}_rm{bits}"), a);
            case 6:
            case 7:
            {
                string op = Pick(ShiftOps);
                return _random.Next(3) switch
                {
                    0 => Instruction.Create(CodeOf($"{op}_rm{bits}_1"), a, 1),
                    1 => Instruction.Create(CodeOf($"{op}_rm{bits}_CL"), a, Register.CL),
                    _ => Instruction.Create(CodeOf($"{op}_rm{bits}_imm8"), a, _random.Next(size == 8 ? 64 : 32)),
                };
            }

            case 8:
                if (size == 1)
                {
                    return Instruction.Create(CodeOf($"Set{Pick(Conditions)}_rm8"), a);
                }

                return _random.Next(3) switch
                {
                    0 => Instruction.Create(CodeOf($"Cmov{Pick(Conditions)}_r{bits}_rm{bits}"), a, b),
                    1 => Instruction.Create(CodeOf($"Imul_r{bits}_rm{bits}"), a, b),
                    _ => Instruction.Create(CodeOf($"Imul_r{bits}_rm{bits}_imm8"), a, b, (int)(sbyte)_random.Next(256)),
                };
            case 9:
                if (size == 1)
                {
                    return Instruction.Create(CodeOf(Pick(["Clc", "Stc", "Cmc"])));
                }

                return _random.Next(2) == 0
                    ? Instruction.Create(CodeOf($"{Pick(BitOps)}_rm{bits}_imm8"), a, _random.Next(256))
                    : Instruction.Create(CodeOf($"{Pick(BitOps)}_rm{bits}_r{bits}"), a, b);
            case 10:
            {
                if (size == 1)
                {
                    return Instruction.Create(CodeOf($"Xchg_rm8_r8"), a, b);
                }

                var source = Pick(size == 2 ? 1 : _random.Next(2) == 0 ? 1 : 2);
                string kind = _random.Next(2) == 0 ? "Movzx" : "Movsx";
                return Instruction.Create(CodeOf($"{kind}_r{bits}_rm{source.GetSize() * 8}"), a, source);
            }

            default:
                if (size == 1)
                {
                    return Instruction.Create(CodeOf(Pick(_bitness == 64 ? ["Cbw", "Cwde", "Cdqe", "Cwd", "Cdq", "Cqo"] : ["Cbw", "Cwde", "Cwd", "Cdq"])));
                }

                if (size >= 4 && _random.Next(2) == 0)
                {
                    return Instruction.Create(CodeOf($"Bswap_r{bits}"), a);
                }

                var baseRegister = Pick(_bitness == 64 ? 8 : 4);
                var index = Pick(_bitness == 64 ? 8 : 4);
                var memory = new MemoryOperand(baseRegister, index, 1 << _random.Next(4), _random.Next(-1000, 1000), _bitness == 64 ? 8 : 4);
                return Instruction.Create(CodeOf($"Lea_r{Math.Max(bits, 16)}_m"), a, memory);
        }
    }

    /// <summary>A random operand size in bytes the mode allows (1, 2, 4, and 8 in 64-bit mode).</summary>
    public int NextSize() => _bitness == 64 ? new[] { 1, 2, 4, 8 }[_random.Next(4)] : new[] { 1, 2, 4 }[_random.Next(3)];

    /// <summary>A random register of <paramref name="size"/> bytes from the generator's set (never RSP).</summary>
    public Register NextRegister(int size) => Pick(size);

    private Register Pick(int size) => _registers[size][_random.Next(_registers[size].Length)];

    private string Pick(string[] options) => options[_random.Next(options.Length)];

    private int Immediate(int size) => size switch
    {
        1 => _random.Next(256),
        2 => _random.Next(65536),
        _ => (int)NextValue(),
    };

    private static Code CodeOf(string name) =>
        Enum.TryParse<Code>(name, out var code) ? code : throw new InvalidOperationException($"No Iced code named {name}");
}
