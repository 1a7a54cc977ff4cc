using ActorVmm.Emulator.Cpu;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.Emulator.Tests.Instructions;

/// <summary>
/// CPL and IOPL checks of protected/long mode (SDM vol. 3, 5.9 and the instruction pages): privileged instructions
/// at CPL 3, CLI/STI and port I/O by IOPL and the TSS I/O bitmap, what POPF and IRET may change, the return and far
/// transfer rules for CS, data segment and SS loads, and software interrupts through a gate of lower DPL.
/// </summary>
public sealed class PrivilegeCheckTests : IDisposable
{
    private const ushort KernelCode = 0x10;
    private const ushort KernelData = 0x18;
    private const ushort UserData = 0x2B;
    private const ushort UserCode = 0x33;
    private const ushort TssSelector = 0x40;
    private const ulong KernelCodeDescriptor = 0x00AF_9B00_0000_FFFF;
    private const ulong KernelDataDescriptor = 0x00CF_9300_0000_FFFF;
    private const ulong UserCodeDescriptor = 0x00AF_FB00_0000_FFFF;
    private const ulong UserDataDescriptor = 0x00CF_F300_0000_FFFF;
    private const ulong GdtAddress = 0x9000;
    private const ulong IdtAddress = 0xA000;
    private const ulong TssAddress = 0xB000;
    private const ulong Handler = 0x3000;
    private const ulong Rsp0 = 0x6000;
    private const ulong UserStack = 0x4000;
    private const ulong KernelStack = 0x5000;

    /// <summary>Limit of a TSS with an I/O bitmap for ports 0-0x3FF plus the SDM's trailing 0xFF byte.</summary>
    private const uint TssLimitWithBitmap = 0x68 + 0x80;

    /// <summary>The I/O map base: the bitmap follows the 104-byte TSS.</summary>
    private const ushort IoMapBase = 0x68;

    private const ushort AllowedPort = 0x70;
    private const ushort DeniedPort = 0x71;
    private const uint MsrTscAux = 0xC000_0103;
    private const uint TscAuxValue = 0xCAFE_0007;
    private const uint TscHighWritten = 1; // IA32_TSC written as 1:0, i.e. 2^32

    // The TSC runs at 1 GHz on the VM's virtual (here: the host's) clock; a test step takes far less than this.
    private const ulong TscSlack = 10_000_000_000;
    private const byte KernelOnlyVector = 0x0E;
    private const byte UserVector = 0x80;
    private const ulong IoplThree = 3UL << 12;

    /// <summary>REX.W CB: RETFQ (Iced's assembler has no retfq helper).</summary>
    private const byte RexW = 0x48;
    private const byte RetfOpcode = 0xCB;

    private readonly CoreFixture _cpu = new();

    public PrivilegeCheckTests()
    {
        var memory = _cpu.Vm.Memory;
        memory.Write(GdtAddress + KernelCode, KernelCodeDescriptor);
        memory.Write(GdtAddress + KernelData, KernelDataDescriptor);
        memory.Write(GdtAddress + UserData - 3, UserDataDescriptor);
        memory.Write(GdtAddress + UserCode - 3, UserCodeDescriptor);
        // 64-bit available TSS with room for the I/O bitmap (limit in bits 15:0), base split over bytes 2-4 and 7.
        memory.Write(GdtAddress + TssSelector, 0x0000_8900_0000_0000UL | TssLimitWithBitmap | ((TssAddress & 0xFF_FFFF) << 16) | ((TssAddress >> 24) << 56));
        memory.Write(GdtAddress + TssSelector + 8, 0UL);
        memory.Write(TssAddress + X86Core.TssRsp0, Rsp0);
        memory.Write(TssAddress + X86Core.TssIoMapBase, IoMapBase);
        // Deny DeniedPort only: its bit in the bitmap is set.
        memory.Write(TssAddress + IoMapBase + (ulong)(DeniedPort / 8), (byte)(1 << (DeniedPort % 8)));
        WriteGate(KernelOnlyVector, dpl: 0);
        WriteGate(UserVector, dpl: 3);
        _cpu.Core.GdtBase = GdtAddress;
        _cpu.Core.GdtLimit = 0x4F;
        _cpu.Core.IdtBase = IdtAddress;
        _cpu.Core.IdtLimit = 0xFFF;
        _cpu.Core.Gpr[X86Core.RSP] = KernelStack;
    }

    public static TheoryData<string> PrivilegedInstructions => [.. Privileged.Keys];

    private static Dictionary<string, Action<Assembler>> Privileged { get; } = new()
    {
        ["hlt"] = a => a.hlt(),
        ["lgdt"] = a => a.lgdt(__[rbx]),
        ["lidt"] = a => a.lidt(__[rbx]),
        ["lldt"] = a => a.lldt(ax),
        ["ltr"] = a => a.ltr(ax),
        ["mov cr0, rax"] = a => a.mov(cr0, rax),
        ["mov rax, cr3"] = a => a.mov(rax, cr3),
        ["mov cr4, rax"] = a => a.mov(cr4, rax),
        ["mov rax, cr8"] = a => a.mov(rax, cr8),
        ["mov dr7, rax"] = a => a.mov(dr7, rax),
        ["mov rax, dr6"] = a => a.mov(rax, dr6),
        ["lmsw"] = a => a.lmsw(ax),
        ["clts"] = a => a.clts(),
        ["rdmsr"] = a => a.rdmsr(),
        ["wrmsr"] = a => a.wrmsr(),
        ["invlpg"] = a => a.invlpg(__[rbx]),
        ["wbinvd"] = a => a.wbinvd(),
        ["invd"] = a => a.invd(),
        ["rdpmc"] = a => a.rdpmc(),
        ["swapgs"] = a => a.swapgs(),
        ["sysretq"] = a => a.sysretq(),
    };

    [Theory]
    [MemberData(nameof(PrivilegedInstructions))]
    public void A_privileged_instruction_at_cpl_3_raises_gp_0_and_changes_nothing(string name)
    {
        _cpu.Core.Efer |= X86Core.EferSCE;
        _cpu.Core.Gpr[X86Core.RBX] = GdtAddress;
        _cpu.Core.Gpr[X86Core.RCX] = MsrTscAux;
        _cpu.Load(Privileged[name]);
        EnterUserMode();
        ulong cr0 = _cpu.Core.Cr0;
        ulong gdt = _cpu.Core.GdtBase;

        var fault = Assert.Throws<GuestFault>(() => _cpu.Step());

        Assert.Equal(ExceptionVector.GP, fault.Vector);
        Assert.Equal(0u, fault.ErrorCode);
        Assert.Equal(cr0, _cpu.Core.Cr0);
        Assert.Equal(gdt, _cpu.Core.GdtBase);
        Assert.False(_cpu.Core.IsHalted);
        Assert.Equal(3, _cpu.Core.CurrentPrivilegeLevel);
    }

    [Fact]
    public void Swapgs_and_wbinvd_run_at_cpl_0()
    {
        const ulong gsBase = 0x1111;
        const ulong kernelGsBase = 0x2222;
        _cpu.Core.Seg[X86Core.GS].Base = gsBase;
        _cpu.Core.KernelGsBase = kernelGsBase;
        _cpu.Load(a =>
        {
            a.swapgs();
            a.wbinvd();
        });

        _cpu.Step(2);

        Assert.Equal(kernelGsBase, _cpu.Core.Seg[X86Core.GS].Base);
        Assert.Equal(gsBase, _cpu.Core.KernelGsBase);
    }

    [Fact]
    public void Rdtsc_at_cpl_3_raises_gp_only_with_cr4_tsd()
    {
        _cpu.Load(a =>
        {
            a.rdtsc();
            a.rdtsc();
        });
        EnterUserMode();
        _cpu.Step();

        _cpu.Core.Cr4 |= X86Core.Cr4TSD;
        var fault = Assert.Throws<GuestFault>(() => _cpu.Step());

        Assert.Equal(ExceptionVector.GP, fault.Vector);
    }

    [Fact]
    public void Rdtscp_returns_the_tsc_and_ia32_tsc_aux_in_ecx()
    {
        _cpu.Load(a =>
        {
            a.mov(ecx, MsrTscAux);
            a.mov(eax, TscAuxValue);
            a.xor(edx, edx);
            a.wrmsr();
            a.mov(ecx, X86Core.MsrTsc);
            a.xor(eax, eax);
            a.mov(edx, TscHighWritten);
            a.wrmsr();
            a.xor(ecx, ecx);
            a.rdtscp();
        });

        _cpu.Step(10);

        Assert.Equal(TscAuxValue, _cpu.Core.Gpr[X86Core.RCX]);
        ulong tsc = (_cpu.Core.Gpr[X86Core.RDX] << 32) | _cpu.Core.Gpr[X86Core.RAX];
        ulong written = (ulong)TscHighWritten << 32;
        Assert.InRange(tsc, written, written + TscSlack);
    }

    [Fact]
    public void Ia32_tsc_aux_refuses_bits_above_31()
    {
        _cpu.Load(a =>
        {
            a.mov(ecx, MsrTscAux);
            a.mov(edx, 1);
            a.wrmsr();
        });
        _cpu.Step(2);

        var fault = Assert.Throws<GuestFault>(() => _cpu.Step());

        Assert.Equal(ExceptionVector.GP, fault.Vector);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Cli_and_sti_at_cpl_3_fault_unless_iopl_is_3(bool ioplThree)
    {
        _cpu.Core.Flags |= RFlags.IF | (ioplThree ? IoplThree : 0);
        _cpu.Load(a =>
        {
            a.cli();
            a.sti();
        });
        EnterUserMode();

        if (!ioplThree)
        {
            var fault = Assert.Throws<GuestFault>(() => _cpu.Step());
            Assert.Equal(ExceptionVector.GP, fault.Vector);
            Assert.NotEqual(0UL, _cpu.Core.Flags & RFlags.IF);
            return;
        }

        _cpu.Step();
        Assert.Equal(0UL, _cpu.Core.Flags & RFlags.IF);
        _cpu.Step();
        Assert.NotEqual(0UL, _cpu.Core.Flags & RFlags.IF);
    }

    [Fact]
    public void Port_io_above_iopl_follows_the_tss_io_bitmap()
    {
        _cpu.Core.Gpr[X86Core.RAX] = TssSelector;
        _cpu.Load(a =>
        {
            a.ltr(ax);
            a.@in(al, (byte)AllowedPort);
            a.@out((byte)DeniedPort, al);
        });
        _cpu.Step();
        EnterUserMode();

        _cpu.Step();
        var fault = Assert.Throws<GuestFault>(() => _cpu.Step());

        Assert.Equal(ExceptionVector.GP, fault.Vector);
        Assert.Equal(0u, fault.ErrorCode);
    }

    [Fact]
    public void A_word_access_is_refused_when_the_bit_of_its_second_port_is_set()
    {
        _cpu.Core.Gpr[X86Core.RAX] = TssSelector;
        _cpu.Core.Gpr[X86Core.RDX] = AllowedPort;
        _cpu.Load(a =>
        {
            a.ltr(ax);
            a.@in(ax, dx);
        });
        _cpu.Step();
        EnterUserMode();

        var fault = Assert.Throws<GuestFault>(() => _cpu.Step());

        Assert.Equal(ExceptionVector.GP, fault.Vector);
    }

    [Fact]
    public void A_port_whose_bitmap_byte_lies_beyond_the_tss_limit_is_refused()
    {
        const ushort portBeyondLimit = 0x400;
        _cpu.Core.Gpr[X86Core.RAX] = TssSelector;
        _cpu.Core.Gpr[X86Core.RDX] = portBeyondLimit;
        _cpu.Load(a =>
        {
            a.ltr(ax);
            a.@in(al, dx);
        });
        _cpu.Step();
        EnterUserMode();

        var fault = Assert.Throws<GuestFault>(() => _cpu.Step());

        Assert.Equal(ExceptionVector.GP, fault.Vector);
    }

    [Fact]
    public void Outs_above_iopl_checks_the_bitmap_before_reading_memory()
    {
        _cpu.Core.Gpr[X86Core.RAX] = TssSelector;
        _cpu.Core.Gpr[X86Core.RDX] = DeniedPort;
        _cpu.Core.Gpr[X86Core.RSI] = CoreFixture.DataAddress;
        _cpu.Load(a =>
        {
            a.ltr(ax);
            a.outsb();
        });
        _cpu.Step();
        EnterUserMode();

        var fault = Assert.Throws<GuestFault>(() => _cpu.Step());

        Assert.Equal(ExceptionVector.GP, fault.Vector);
        Assert.Equal(CoreFixture.DataAddress, _cpu.Core.Gpr[X86Core.RSI]);
    }

    [Fact]
    public void Popf_at_cpl_3_changes_neither_iopl_nor_if_when_cpl_is_above_iopl()
    {
        _cpu.Core.Flags |= RFlags.IF;
        _cpu.Core.Gpr[X86Core.RAX] = IoplThree | RFlags.CF | RFlags.Reserved1;
        _cpu.Load(a =>
        {
            a.push(rax);
            a.popfq();
        });
        EnterUserMode();

        _cpu.Step(2);

        Assert.Equal(0UL, _cpu.Core.Flags & IoplThree);
        Assert.NotEqual(0UL, _cpu.Core.Flags & RFlags.IF);
        Assert.NotEqual(0UL, _cpu.Core.Flags & RFlags.CF);
    }

    [Fact]
    public void Popf_at_cpl_3_with_iopl_3_changes_if_but_not_iopl()
    {
        _cpu.Core.Flags |= RFlags.IF | IoplThree;
        _cpu.Core.Gpr[X86Core.RAX] = RFlags.Reserved1;
        _cpu.Load(a =>
        {
            a.push(rax);
            a.popfq();
        });
        EnterUserMode();

        _cpu.Step(2);

        Assert.Equal(IoplThree, _cpu.Core.Flags & IoplThree);
        Assert.Equal(0UL, _cpu.Core.Flags & RFlags.IF);
    }

    [Fact]
    public void Popf_at_cpl_0_changes_iopl_and_if()
    {
        _cpu.Core.Gpr[X86Core.RAX] = IoplThree | RFlags.IF | RFlags.Reserved1;
        _cpu.Load(a =>
        {
            a.push(rax);
            a.popfq();
        });

        _cpu.Step(2);

        Assert.Equal(IoplThree | RFlags.IF, _cpu.Core.Flags & (IoplThree | RFlags.IF));
    }

    [Fact]
    public void Iretq_from_cpl_0_enters_cpl_3_with_the_popped_stack_and_iopl()
    {
        PushIretFrame(UserCode, UserData, IoplThree | RFlags.IF | RFlags.Reserved1);
        _cpu.Load(a => a.iretq());

        _cpu.Step();

        Assert.Equal(3, _cpu.Core.CurrentPrivilegeLevel);
        Assert.Equal(Handler, _cpu.Core.Rip);
        Assert.Equal(UserStack, _cpu.Core.Gpr[X86Core.RSP]);
        Assert.Equal(UserData, _cpu.Core.Seg[X86Core.SS].Selector);
        Assert.Equal(IoplThree | RFlags.IF, _cpu.Core.Flags & (IoplThree | RFlags.IF));
    }

    [Fact]
    public void Iretq_to_cpl_3_nulls_a_data_segment_holding_a_kernel_selector()
    {
        _cpu.Core.LoadSegment(X86Core.DS, KernelData);
        PushIretFrame(UserCode, UserData, RFlags.Reserved1);
        _cpu.Load(a => a.iretq());

        _cpu.Step();

        Assert.Equal(0, _cpu.Core.Seg[X86Core.DS].Selector);
    }

    [Fact]
    public void Iretq_to_a_selector_whose_rpl_differs_from_the_code_dpl_raises_gp_with_the_selector()
    {
        const ushort kernelCodeWithRpl3 = KernelCode | 3;
        PushIretFrame(kernelCodeWithRpl3, UserData, RFlags.Reserved1);
        ulong rsp = _cpu.Core.Gpr[X86Core.RSP];
        _cpu.Load(a => a.iretq());

        var fault = Assert.Throws<GuestFault>(() => _cpu.Step());

        Assert.Equal(ExceptionVector.GP, fault.Vector);
        Assert.Equal((uint)KernelCode, fault.ErrorCode);
        Assert.Equal(0, _cpu.Core.CurrentPrivilegeLevel);
        Assert.Equal(rsp, _cpu.Core.Gpr[X86Core.RSP]);
    }

    [Fact]
    public void Iretq_at_cpl_3_to_a_more_privileged_level_raises_gp_with_the_selector()
    {
        EnterUserMode();
        PushIretFrame(KernelCode, KernelData, RFlags.Reserved1);
        _cpu.Load(a => a.iretq());

        var fault = Assert.Throws<GuestFault>(() => _cpu.Step());

        Assert.Equal(ExceptionVector.GP, fault.Vector);
        Assert.Equal((uint)KernelCode, fault.ErrorCode);
        Assert.Equal(3, _cpu.Core.CurrentPrivilegeLevel);
    }

    [Fact]
    public void Iretq_to_cpl_3_with_a_null_ss_raises_gp_0()
    {
        PushIretFrame(UserCode, 3, RFlags.Reserved1);
        _cpu.Load(a => a.iretq());

        var fault = Assert.Throws<GuestFault>(() => _cpu.Step());

        Assert.Equal(ExceptionVector.GP, fault.Vector);
        Assert.Equal(0u, fault.ErrorCode);
        Assert.Equal(0, _cpu.Core.CurrentPrivilegeLevel);
    }

    [Fact]
    public void Iretq_to_cpl_3_with_a_kernel_stack_segment_raises_gp_with_the_selector()
    {
        const ushort kernelDataWithRpl3 = KernelData | 3;
        PushIretFrame(UserCode, kernelDataWithRpl3, RFlags.Reserved1);
        _cpu.Load(a => a.iretq());

        var fault = Assert.Throws<GuestFault>(() => _cpu.Step());

        Assert.Equal((uint)KernelData, fault.ErrorCode);
    }

    [Theory]
    [InlineData(KernelData, KernelData)]
    [InlineData(KernelData | 3, KernelData)]
    public void Loading_a_kernel_data_segment_at_cpl_3_raises_gp_with_the_selector(ushort selector, ushort expected)
    {
        _cpu.Core.Gpr[X86Core.RAX] = selector;
        _cpu.Load(a => a.mov(ds, ax));
        EnterUserMode();

        var fault = Assert.Throws<GuestFault>(() => _cpu.Step());

        Assert.Equal(ExceptionVector.GP, fault.Vector);
        Assert.Equal((uint)expected, fault.ErrorCode);
    }

    [Fact]
    public void Loading_a_user_data_segment_or_null_at_cpl_3_is_allowed()
    {
        _cpu.Core.Gpr[X86Core.RAX] = UserData;
        _cpu.Load(a =>
        {
            a.mov(ds, ax);
            a.xor(eax, eax);
            a.mov(es, ax);
        });
        EnterUserMode();

        _cpu.Step(3);

        Assert.Equal(UserData, _cpu.Core.Seg[X86Core.DS].Selector);
        Assert.Equal(0, _cpu.Core.Seg[X86Core.ES].Selector);
    }

    [Fact]
    public void A_null_ss_at_cpl_3_in_64_bit_mode_raises_gp_0()
    {
        _cpu.Core.Gpr[X86Core.RAX] = 3;
        _cpu.Load(a => a.mov(ss, ax));
        EnterUserMode();

        var fault = Assert.Throws<GuestFault>(() => _cpu.Step());

        Assert.Equal(ExceptionVector.GP, fault.Vector);
        Assert.Equal(0u, fault.ErrorCode);
    }

    [Fact]
    public void Loading_ss_with_an_rpl_other_than_cpl_raises_gp_with_the_selector()
    {
        _cpu.Core.Gpr[X86Core.RAX] = UserData;
        _cpu.Load(a => a.mov(ss, ax));

        var fault = Assert.Throws<GuestFault>(() => _cpu.Step());

        Assert.Equal((uint)(UserData & ~3), fault.ErrorCode);
    }

    [Fact]
    public void A_far_jump_from_cpl_3_into_kernel_code_raises_gp_with_the_selector()
    {
        _cpu.Core.Gpr[X86Core.RBX] = CoreFixture.DataAddress;
        _cpu.Vm.Memory.Write(CoreFixture.DataAddress, (uint)Handler);
        _cpu.Vm.Memory.Write(CoreFixture.DataAddress + 4, KernelCode);
        _cpu.Load(a => a.jmp(__fword_ptr[rbx]));
        EnterUserMode();

        var fault = Assert.Throws<GuestFault>(() => _cpu.Step());

        Assert.Equal(ExceptionVector.GP, fault.Vector);
        Assert.Equal((uint)KernelCode, fault.ErrorCode);
        Assert.Equal(3, _cpu.Core.CurrentPrivilegeLevel);
    }

    [Fact]
    public void Int_n_at_cpl_3_through_a_dpl_0_gate_raises_gp_with_the_idt_error_code()
    {
        _cpu.Load(a => a.@int(KernelOnlyVector));
        EnterUserMode();
        const uint idtBit = 2;

        var fault = Assert.Throws<GuestFault>(() => _cpu.Step());

        Assert.Equal(ExceptionVector.GP, fault.Vector);
        Assert.Equal(((uint)KernelOnlyVector * 8) + idtBit, fault.ErrorCode);
    }

    [Fact]
    public void Int_n_at_cpl_3_through_a_dpl_3_gate_enters_the_kernel_on_rsp0()
    {
        _cpu.Core.Gpr[X86Core.RAX] = TssSelector;
        _cpu.Load(a =>
        {
            a.ltr(ax);
            a.@int(UserVector);
        });
        _cpu.Step();
        EnterUserMode();

        _cpu.Step();

        Assert.Equal(Handler, _cpu.Core.Rip);
        Assert.Equal(0, _cpu.Core.CurrentPrivilegeLevel);
        const int pushedWords = 5;
        Assert.Equal(Rsp0 - (pushedWords * 8), _cpu.Core.Gpr[X86Core.RSP]);
    }

    [Fact]
    public void Retfq_from_cpl_0_to_a_user_selector_pops_ss_and_rsp_and_enters_cpl_3()
    {
        foreach (ulong word in (ReadOnlySpan<ulong>)[UserData, UserStack, UserCode, Handler])
        {
            _cpu.Core.Push(word, sizeof(ulong));
        }

        _cpu.Load(a => a.db(RexW, RetfOpcode));

        _cpu.Step();

        Assert.Equal(3, _cpu.Core.CurrentPrivilegeLevel);
        Assert.Equal(Handler, _cpu.Core.Rip);
        Assert.Equal(UserStack, _cpu.Core.Gpr[X86Core.RSP]);
        Assert.Equal(UserData, _cpu.Core.Seg[X86Core.SS].Selector);
    }

    [Fact]
    public void Retfq_at_cpl_3_to_kernel_code_raises_gp_with_the_selector_and_keeps_the_stack()
    {
        EnterUserMode();
        _cpu.Core.Push(KernelCode, sizeof(ulong));
        _cpu.Core.Push(Handler, sizeof(ulong));
        ulong rsp = _cpu.Core.Gpr[X86Core.RSP];
        _cpu.Load(a => a.db(RexW, RetfOpcode));

        var fault = Assert.Throws<GuestFault>(() => _cpu.Step());

        Assert.Equal(ExceptionVector.GP, fault.Vector);
        Assert.Equal((uint)KernelCode, fault.ErrorCode);
        Assert.Equal(rsp, _cpu.Core.Gpr[X86Core.RSP]);
        Assert.Equal(3, _cpu.Core.CurrentPrivilegeLevel);
    }

    public void Dispose() => _cpu.Dispose();

    private void EnterUserMode()
    {
        _cpu.Core.LoadSegment(X86Core.CS, UserCode);
        _cpu.Core.LoadSegment(X86Core.SS, UserData);
        _cpu.Core.Gpr[X86Core.RSP] = UserStack;
    }

    /// <summary>Pushes an IRETQ frame (SS, RSP, RFLAGS, CS, RIP) returning to <see cref="Handler"/> on <see cref="UserStack"/>.</summary>
    private void PushIretFrame(ushort cs, ushort ss, ulong flags)
    {
        foreach (ulong word in (ReadOnlySpan<ulong>)[ss, UserStack, flags, cs, Handler])
        {
            _cpu.Core.Push(word, sizeof(ulong));
        }
    }

    /// <summary>A 64-bit interrupt gate to <see cref="Handler"/> through the kernel code segment with the given DPL.</summary>
    private void WriteGate(byte vector, int dpl)
    {
        ulong type = 0x8EUL | ((ulong)dpl << 5);
        ulong low = (Handler & 0xFFFF) | ((ulong)KernelCode << 16) | (type << 40) | (((Handler >> 16) & 0xFFFF) << 48);
        _cpu.Vm.Memory.Write(IdtAddress + (ulong)(vector * 16), low);
        _cpu.Vm.Memory.Write(IdtAddress + (ulong)(vector * 16) + 8, Handler >> 32);
    }
}
