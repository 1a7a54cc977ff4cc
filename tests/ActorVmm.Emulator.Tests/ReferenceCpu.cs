namespace ActorVmm.Emulator.Tests;

/// <summary>A Unicorn x86 engine in flat 32-bit or 64-bit mode with a small RAM, stepped one instruction at a time.</summary>
internal sealed unsafe class ReferenceCpu : IDisposable
{
    public const ulong MemorySize = 0x10_0000;

    private readonly UnicornHandle _uc;
    private readonly int[] _gprs;

    public ReferenceCpu(int bitness)
    {
        Bitness = bitness;
        Unicorn.Check(Unicorn.uc_open(Unicorn.UC_ARCH_X86, bitness == 64 ? Unicorn.UC_MODE_64 : Unicorn.UC_MODE_32, out _uc), "uc_open");
        Unicorn.Check(Unicorn.uc_mem_map(_uc, 0, (nuint)MemorySize, Unicorn.UC_PROT_ALL), "uc_mem_map");
        _gprs = bitness == 64 ? Unicorn.Gpr64 : Unicorn.Gpr32;
    }

    public int Bitness { get; }

    public int GprCount => _gprs.Length;

    public void WriteCode(ulong address, byte[] code)
    {
        fixed (byte* p = code)
        {
            Unicorn.Check(Unicorn.uc_mem_write(_uc, address, p, (nuint)code.Length), "uc_mem_write");
        }
    }

    /// <summary>Reads XMM<paramref name="index"/> as (bits 63:0, bits 127:64).</summary>
    public (ulong Low, ulong High) ReadXmm(int index)
    {
        var value = stackalloc ulong[2];
        Unicorn.Check(Unicorn.uc_reg_read(_uc, Unicorn.UC_X86_REG_XMM0 + index, value), "uc_reg_read");
        return (value[0], value[1]);
    }

    public void WriteXmm(int index, ulong low, ulong high)
    {
        var value = stackalloc ulong[2];
        value[0] = low;
        value[1] = high;
        Unicorn.Check(Unicorn.uc_reg_write(_uc, Unicorn.UC_X86_REG_XMM0 + index, value), "uc_reg_write");
    }

    public byte[] ReadMemory(ulong address, int length)
    {
        var bytes = new byte[length];
        fixed (byte* p = bytes)
        {
            Unicorn.Check(Unicorn.uc_mem_read(_uc, address, p, (nuint)length), "uc_mem_read");
        }

        return bytes;
    }

    public void WriteMemory(ulong address, byte[] bytes) => WriteCode(address, bytes);

    public ulong ReadGpr(int slot) => Read(_gprs[slot]);

    public void WriteGpr(int slot, ulong value) => Write(_gprs[slot], value);

    public ulong Flags
    {
        get => Read(Unicorn.UC_X86_REG_EFLAGS);
        set => Write(Unicorn.UC_X86_REG_EFLAGS, value);
    }

    /// <summary>Physical x87 register R<paramref name="physical"/>: (sign and exponent word, significand).</summary>
    public (ushort SignExponent, ulong Significand) ReadX87(int physical)
    {
        var value = stackalloc ulong[2];
        Unicorn.Check(Unicorn.uc_reg_read(_uc, Unicorn.UC_X86_REG_FP0 + physical, value), "uc_reg_read");
        return ((ushort)value[1], value[0]);
    }

    /// <summary>The x87 status word (TOP included).</summary>
    public ushort Fsw => (ushort)Read(Unicorn.UC_X86_REG_FPSW);

    public ulong Rip
    {
        get => Read(Bitness == 64 ? Unicorn.UC_X86_REG_RIP : Unicorn.UC_X86_REG_EIP);
        set => Write(Bitness == 64 ? Unicorn.UC_X86_REG_RIP : Unicorn.UC_X86_REG_EIP, value);
    }

    /// <summary>
    /// Executes the straight-line instruction at <see cref="Rip"/> that ends at <paramref name="next"/>. Stopping at an
    /// address (rather than by instruction count, which makes Unicorn install a code hook and flush its cache) keeps this fast.
    /// </summary>
    public void Step(ulong next)
    {
        ulong rip = Rip;
        Unicorn.Check(Unicorn.uc_emu_start(_uc, rip, next, 0, 0), "uc_emu_start");
    }

    private ulong Read(int register)
    {
        ulong value = 0;
        Unicorn.Check(Unicorn.uc_reg_read(_uc, register, &value), "uc_reg_read");
        return Bitness == 64 ? value : value & 0xFFFF_FFFF;
    }

    private void Write(int register, ulong value) =>
        Unicorn.Check(Unicorn.uc_reg_write(_uc, register, &value), "uc_reg_write");

    public void Dispose() => _uc.Dispose();
}
