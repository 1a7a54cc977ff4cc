using ActorVmm.Emulator.Cpu;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.Emulator.Tests.Instructions;

/// <summary>
/// 32-bit protected mode: an interrupt from CPL 3 to a DPL 0 handler switches to SS0:ESP0 of the 32-bit TSS and pushes
/// the user SS:ESP (SDM vol. 3, 6.12.1), and IRETD back to CPL 3 pops them again.
/// </summary>
public sealed class ProtectedModeStackSwitchTests : IDisposable
{
    private const ushort KernelCode = 0x08;
    private const ushort KernelData = 0x10;
    private const ushort UserCode = 0x1B;
    private const ushort UserData = 0x23;
    private const ushort TssSelector = 0x28;
    private const ulong KernelCodeDescriptor = 0x00CF_9B00_0000_FFFF;
    private const ulong KernelDataDescriptor = 0x00CF_9300_0000_FFFF;
    private const ulong UserCodeDescriptor = 0x00CF_FB00_0000_FFFF;
    private const ulong UserDataDescriptor = 0x00CF_F300_0000_FFFF;
    private const ulong GdtAddress = 0x9000;
    private const ulong IdtAddress = 0xA000;
    private const ulong TssAddress = 0xB000;
    private const uint TssLimit = 0x67;
    private const ulong Handler = 0x3000;
    private const uint Esp0 = 0x6000;
    private const uint UserStack = 0x4000;
    private const byte Vector = 0x80;
    private const byte IretdOpcode = 0xCF;

    private readonly CoreFixture _cpu = new(bitness: 32);

    public ProtectedModeStackSwitchTests()
    {
        var memory = _cpu.Vm.Memory;
        memory.Write(GdtAddress + KernelCode, KernelCodeDescriptor);
        memory.Write(GdtAddress + KernelData, KernelDataDescriptor);
        memory.Write(GdtAddress + (UserCode & ~3UL), UserCodeDescriptor);
        memory.Write(GdtAddress + (UserData & ~3UL), UserDataDescriptor);
        // 32-bit available TSS (type 9), present, base split over bytes 2-4 and 7.
        memory.Write(GdtAddress + TssSelector, 0x0000_8900_0000_0000UL | TssLimit | ((TssAddress & 0xFF_FFFF) << 16) | ((TssAddress >> 24) << 56));
        memory.Write(TssAddress + X86Core.TssEsp0, Esp0);
        memory.Write(TssAddress + X86Core.TssSs0, (uint)KernelData);
        // 32-bit interrupt gate, DPL 3, to Handler through the kernel code segment.
        ulong gate = (Handler & 0xFFFF) | ((ulong)KernelCode << 16) | (0xEEUL << 40) | (((Handler >> 16) & 0xFFFF) << 48);
        memory.Write(IdtAddress + (Vector * 8UL), gate);
        memory.Write(Handler, IretdOpcode);
        _cpu.Core.GdtBase = GdtAddress;
        _cpu.Core.GdtLimit = 0x2F;
        _cpu.Core.IdtBase = IdtAddress;
        _cpu.Core.IdtLimit = 0x7FF;
        _cpu.Core.LoadSegment(X86Core.SS, KernelData);
    }

    [Fact]
    public void An_interrupt_from_cpl_3_runs_on_ss0_esp0_and_iretd_returns_to_the_user_stack()
    {
        _cpu.Core.Gpr[X86Core.RAX] = TssSelector;
        _cpu.Load(a =>
        {
            a.ltr(ax);
            a.@int(Vector);
            a.nop();
        }, bitness: 32);
        _cpu.Step();
        _cpu.Core.LoadSegment(X86Core.CS, UserCode);
        _cpu.Core.LoadSegment(X86Core.SS, UserData);
        _cpu.Core.Gpr[X86Core.RSP] = UserStack;
        ulong returnAddress = _cpu.Core.Rip + 2;

        _cpu.Step();

        Assert.Equal(Handler, _cpu.Core.Rip);
        Assert.Equal(0, _cpu.Core.CurrentPrivilegeLevel);
        Assert.Equal(KernelData, _cpu.Core.Seg[X86Core.SS].Selector);
        const int pushedDwords = 5;
        Assert.Equal(Esp0 - (pushedDwords * 4), (uint)_cpu.Core.Gpr[X86Core.RSP]);
        var memory = _cpu.Vm.Memory;
        Assert.Equal((uint)UserData, memory.Read<uint>(Esp0 - 4));
        Assert.Equal(UserStack, memory.Read<uint>(Esp0 - 8));
        Assert.Equal((uint)UserCode, memory.Read<uint>(Esp0 - 16));
        Assert.Equal((uint)returnAddress, memory.Read<uint>(Esp0 - 20));

        _cpu.Step();

        Assert.Equal(returnAddress, _cpu.Core.Rip);
        Assert.Equal(3, _cpu.Core.CurrentPrivilegeLevel);
        Assert.Equal(UserStack, (uint)_cpu.Core.Gpr[X86Core.RSP]);
        Assert.Equal(UserData, _cpu.Core.Seg[X86Core.SS].Selector);
    }

    public void Dispose() => _cpu.Dispose();
}
