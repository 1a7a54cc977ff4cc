using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using ActorVmm.Emulator.Cpu;
using ActorVmm.Machine.Vcpu;
using Iced.Intel;
using Xunit.Abstractions;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.Emulator.Tests;

/// <summary>
/// Page protection and the ring 0 → 3 transition against Unicorn (QEMU 5's x86 MMU): the same kernel prologue loads
/// a GDT, enables 4-level paging (CR4.PAE, CR3, CR0.PG/WP), then either continues at CPL 0 or IRETQs to CPL 3, and one
/// read, write or instruction fetch goes through a data page whose four (or three, with a 2 MiB page) paging entries
/// have random P, R/W, U/S, XD, accessed/dirty and, rarely, a reserved bit. Compared: whether it faulted, the vector,
/// CR2, RIP, RAX, the data bytes and every paging entry of the data page afterwards (accessed/dirty bits).
/// Where Unicorn 2.0.1 stops: its exception hook reports only the vector, not the error code (covered by
/// <c>PageProtectionTests</c>), and it delivers no exception through the IDT, so stack switches are not compared;
/// its CPU refuses EFER.SCE and EFER.NXE in WRMSR (no SYSCALL/NX in its feature words), so SYSCALL/SYSRET and
/// XD-as-no-execute are not compared (XD without NXE, a reserved bit, is); it walks the tables, checks rights and sets
/// accessed/dirty bits but then maps the linear page to the same physical address (its excp_helper.c identity patch,
/// unicorn-engine/unicorn#1953), so the data page is also mapped in Unicorn at its linear address and the final
/// translation is left to <c>PagingTests</c>; MAXPHYADDR differs (QEMU 40 bits, here 36), so reserved address bits
/// are drawn from bit 51 only; 1 GiB pages are not drawn (not advertised).
/// </summary>
public sealed unsafe class PagingDifferentialTests(ITestOutputHelper output)
{
    private const int FixedSeed = 20_261_129;
    private const int FixedCases = 500;
    private const int RandomCases = 150;
    private const ulong MemorySize = 0x10_0000;

    private const ulong Pml4 = 0x1_0000;
    private const ulong IdentityPdpt = 0x1_1000;
    private const ulong IdentityDirectory = 0x1_2000;
    private const ulong IdentityTable = 0x1_3000;
    private const ulong DataPdpt = 0x1_4000;
    private const ulong DataDirectory = 0x1_5000;
    private const ulong DataTable = 0x1_6000;
    private const ulong DataPhysical = 0x7000;
    private const ulong PrologueAddress = 0x1000;
    private const ulong StubPage = 0x2000;
    private const ulong ReadStub = StubPage;
    private const ulong WriteStub = StubPage + 0x100;
    private const ulong FetchStub = StubPage + 0x200;

    /// <summary>PML4 index 1, PDPT index 3, PD index 5, PT index 7.</summary>
    private const ulong DataLinear = (1UL << 39) | (3UL << 30) | (5UL << 21) | (7UL << 12);
    private const ulong DataOffset = 0x800;
    private const nuint PageSize = 0x1000;
    private const ulong WriteValue = 0x0123_4567_89AB_CDEF;
    private const ulong DataPattern = 0x5A5A_5A5A_5A5A_5A5A;
    private const byte Nop = 0x90;

    private const ulong Present = 1UL << 0;
    private const ulong Writable = 1UL << 1;
    private const ulong UserBit = 1UL << 2;
    private const ulong Accessed = 1UL << 5;
    private const ulong Dirty = 1UL << 6;
    private const ulong Large = 1UL << 7;
    private const ulong Reserved51 = 1UL << 51;
    private const ulong NoExecute = 1UL << 63;
    private const ulong TableRights = Present | Writable | UserBit;
    private const ulong Cr4Pae = 1UL << 5;
    private const ulong GdtAddress = 0x3000;
    private const ulong GdtPointer = 0x3100;
    private const ushort GdtLimit = 0x3F;
    private const ushort UserData = 0x2B;
    private const ushort UserCode = 0x33;
    private const ulong UserDataDescriptor = 0x00CF_F300_0000_FFFF;
    private const ulong UserCodeDescriptor = 0x00AF_FB00_0000_FFFF;
    private const ulong UserStack = 0x5000;
    private const ulong KernelStack = 0x9000;
    private const int NoFault = -1;
    private const int MaxSteps = 64;

    private enum Access
    {
        Read,
        Write,
        Fetch,
    }

    [Fact]
    public void Random_page_rights_and_rings_match_unicorn()
    {
        Assert.True(Unicorn.IsAvailable(out string error), error);
        int randomSeed = Random.Shared.Next();
        output.WriteLine($"fixed seed {FixedSeed} ({FixedCases} cases), random seed {randomSeed} ({RandomCases} cases)");
        byte[] prologue = Assemble(PrologueAddress, EmitPrologue);
        var faults = new Dictionary<string, int>();
        RunCampaign(FixedSeed, FixedCases, prologue, faults);
        RunCampaign(randomSeed, RandomCases, prologue, faults);
        output.WriteLine(string.Join(", ", faults.OrderBy(f => f.Key).Select(f => $"{f.Key}: {f.Value}")));

        // The campaign must exercise both outcomes, or it compares nothing interesting.
        Assert.True(faults.GetValueOrDefault("ok") > 0 && faults.GetValueOrDefault("#PF") > 0, "the random cases did not cover both completed and faulting accesses");
    }

    [Fact]
    public void Unicorn_control_register_ids_read_back_what_was_written()
    {
        Assert.True(Unicorn.IsAvailable(out string error), error);
        using var reference = new PagedReference();
        const ulong cr2 = 0x1234_5000;

        reference.Write(Unicorn.UC_X86_REG_CR2, cr2);
        reference.Write(Unicorn.UC_X86_REG_CR3, Pml4);

        Assert.Equal(cr2, reference.Read(Unicorn.UC_X86_REG_CR2));
        Assert.Equal(Pml4, reference.Read(Unicorn.UC_X86_REG_CR3));
    }

    private static void RunCampaign(int seed, int cases, byte[] prologue, Dictionary<string, int> tally)
    {
        var random = new Random(seed);
        using var vm = new EmulatorVm(new VmSpec("paging-diff", MemorySize));
        var core = vm.Core(0);
        for (int n = 0; n < cases; n++)
        {
            var scenario = Scenario.Draw(random);
            byte[] image = BuildImage(scenario, prologue);
            vm.Memory.Write(0, image);
            var ours = RunEmulator(core, vm, scenario);
            Outcome theirs;
            using (var reference = new PagedReference())
            {
                try
                {
                    theirs = reference.Run(image, scenario);
                }
                catch (InvalidOperationException ex)
                {
                    throw new InvalidOperationException($"seed {seed} case {n} ({scenario}): {ex.Message}", ex);
                }
            }

            string? mismatch = Compare(ours, theirs);
            if (mismatch is not null)
            {
                Assert.Fail($"seed {seed} case {n} ({scenario}): {mismatch}");
            }

            string key = ours.Vector == NoFault ? "ok" : ours.Vector == ExceptionVector.PF ? "#PF" : $"vector {ours.Vector}";
            tally[key] = tally.GetValueOrDefault(key) + 1;
        }
    }

    private static Outcome RunEmulator(X86Core core, EmulatorVm vm, Scenario scenario)
    {
        core.SetFlatMode(64);
        core.Cr2 = 0;
        scenario.LoadRegisters((register, value) => core.Gpr[register] = value);
        core.Rip = PrologueAddress;
        int vector = NoFault;
        for (int i = 0; i < MaxSteps && core.Rip != scenario.Until; i++)
        {
            ulong rip = core.Rip;
            try
            {
                core.Step();
            }
            catch (GuestFault fault)
            {
                vector = fault.Vector;
                core.Rip = rip;
                break;
            }
        }

        var image = new byte[MemorySize];
        vm.Memory.Read(0, image);
        return new Outcome(vector, core.Cr2, core.Rip, core.Gpr[X86Core.RAX], image);
    }

    private static string? Compare(Outcome ours, Outcome theirs)
    {
        var problems = new StringBuilder();
        if (ours.Vector != theirs.Vector)
        {
            problems.Append($"vector emulator {ours.Vector} unicorn {theirs.Vector}; ");
        }

        if (ours.Vector == ExceptionVector.PF && ours.Cr2 != theirs.Cr2)
        {
            problems.Append($"cr2 emulator 0x{ours.Cr2:X} unicorn 0x{theirs.Cr2:X}; ");
        }

        if (ours.Rip != theirs.Rip)
        {
            problems.Append($"rip emulator 0x{ours.Rip:X} unicorn 0x{theirs.Rip:X}; ");
        }

        if (ours.Rax != theirs.Rax)
        {
            problems.Append($"rax emulator 0x{ours.Rax:X} unicorn 0x{theirs.Rax:X}; ");
        }

        foreach ((string name, ulong address) in (ReadOnlySpan<(string, ulong)>)
        [
            ("data", DataPhysical + DataOffset), ("pml4e", Pml4 + 8), ("pdpte", DataPdpt + (3 * 8)),
            ("pde", DataDirectory + (5 * 8)), ("pte", DataTable + (7 * 8)),
        ])
        {
            ulong a = BitConverter.ToUInt64(ours.Memory, (int)address);
            ulong b = BitConverter.ToUInt64(theirs.Memory, (int)address);
            if (a != b)
            {
                problems.Append($"{name} emulator 0x{a:X} unicorn 0x{b:X}; ");
            }
        }

        return problems.Length == 0 ? null : problems.ToString();
    }

    private static byte[] BuildImage(Scenario scenario, byte[] prologue)
    {
        var image = new byte[MemorySize];
        prologue.CopyTo(image, (int)PrologueAddress);
        Assemble(ReadStub, a => a.mov(rax, __qword_ptr[rbx])).CopyTo(image, (int)ReadStub);
        Assemble(WriteStub, a => a.mov(__qword_ptr[rbx], rdx)).CopyTo(image, (int)WriteStub);
        Assemble(FetchStub, a => a.jmp(rbx)).CopyTo(image, (int)FetchStub);
        image[DataPhysical] = Nop;
        Put(image, GdtAddress + (UserData & ~3UL), UserDataDescriptor);
        Put(image, GdtAddress + (UserCode & ~3UL), UserCodeDescriptor);
        BitConverter.TryWriteBytes(image.AsSpan((int)GdtPointer), GdtLimit);
        Put(image, GdtPointer + 2, GdtAddress);
        BitConverter.TryWriteBytes(image.AsSpan((int)(DataPhysical + DataOffset)), DataPattern);

        // Identity map of the first MiB: supervisor pages, except the user stubs.
        Put(image, Pml4, IdentityPdpt | TableRights | Accessed);
        Put(image, IdentityPdpt, IdentityDirectory | TableRights | Accessed);
        Put(image, IdentityDirectory, IdentityTable | TableRights | Accessed);
        for (ulong page = 0; page < MemorySize >> 12; page++)
        {
            ulong rights = Present | Writable | Accessed | Dirty | (page << 12 == StubPage ? UserBit : 0);
            Put(image, IdentityTable + (page * 8), (page << 12) | rights);
        }

        // The data page's own path below PML4 index 1, with the drawn rights.
        Put(image, Pml4 + 8, DataPdpt | scenario.Pml4e);
        Put(image, DataPdpt + (3 * 8), DataDirectory | scenario.Pdpte);
        if (scenario.LargePage)
        {
            // A 2 MiB page at physical 0: the data offset inside it lands on DataPhysical.
            Put(image, DataDirectory + (5 * 8), scenario.Pde | Large);
        }
        else
        {
            Put(image, DataDirectory + (5 * 8), DataTable | scenario.Pde);
            Put(image, DataTable + (7 * 8), DataPhysical | scenario.Pte);
        }

        return image;
    }

    private static void Put(byte[] image, ulong address, ulong value) => BitConverter.TryWriteBytes(image.AsSpan((int)address), value);

    /// <summary>In: RSI = CR0 bits to set (PG, WP), R8 = the stub, R9 = 1 to IRETQ to CPL 3, RSP = a kernel stack.</summary>
    private static void EmitPrologue(Assembler a)
    {
        var kernel = a.CreateLabel();
        a.mov(rax, GdtPointer);
        a.lgdt(__[rax]);
        a.mov(rax, cr4);
        a.or(rax, (int)Cr4Pae);
        a.mov(cr4, rax);
        a.mov(rax, Pml4);
        a.mov(cr3, rax);
        a.mov(rax, cr0);
        a.or(rax, rsi);
        a.mov(cr0, rax);
        a.mov(rdx, WriteValue);
        a.test(r9, r9);
        a.jz(kernel);
        a.push(UserData);
        a.push((int)UserStack);
        a.push(2);
        a.push(UserCode);
        a.push(r8);
        a.iretq();
        a.Label(ref kernel);
        a.jmp(r8);
    }

    private static byte[] Assemble(ulong address, Action<Assembler> emit)
    {
        var asm = new Assembler(64);
        emit(asm);
        using var stream = new MemoryStream();
        asm.Assemble(new StreamCodeWriter(stream), address);
        return stream.ToArray();
    }

    private sealed record Outcome(int Vector, ulong Cr2, ulong Rip, ulong Rax, byte[] Memory);

    private sealed record Scenario(Access Access, bool User, bool WriteProtect, bool LargePage, ulong Pml4e, ulong Pdpte, ulong Pde, ulong Pte)
    {
        private const ulong CodeSizeOfAccess = 3;

        public ulong Until => Access switch
        {
            Access.Fetch => DataLinear + 1,
            Access.Read => ReadStub + CodeSizeOfAccess,
            _ => WriteStub + CodeSizeOfAccess,
        };

        public static Scenario Draw(Random random)
        {
            var access = (Access)random.Next(3);
            bool large = random.Next(4) == 0;
            return new Scenario(
                access,
                User: random.Next(2) == 0,
                WriteProtect: random.Next(2) == 0,
                LargePage: large,
                Pml4e: Entry(random, leaf: false),
                Pdpte: Entry(random, leaf: false),
                Pde: Entry(random, leaf: large),
                Pte: Entry(random, leaf: true));
        }

        public void LoadRegisters(Action<int, ulong> set)
        {
            const int r8 = 8;
            const int r9 = 9;
            set(X86Core.RSI, X86Core.Cr0PG | (WriteProtect ? X86Core.Cr0WP : 0));
            set(X86Core.RSP, KernelStack);
            set(r8, Access switch { Access.Read => ReadStub, Access.Write => WriteStub, _ => FetchStub });
            set(r9, User ? 1UL : 0);
            set(X86Core.RBX, DataLinear + (Access == Access.Fetch ? 0 : DataOffset));
            set(X86Core.RAX, 0);
        }

        public override string ToString() =>
            $"{Access} cpl {(User ? 3 : 0)} wp {WriteProtect} large {LargePage} pml4e 0x{Pml4e:X} pdpte 0x{Pdpte:X} pde 0x{Pde:X} pte 0x{Pte:X}";

        private static ulong Entry(Random random, bool leaf)
        {
            ulong entry = 0;
            entry |= random.Next(20) != 0 ? Present : 0;
            entry |= random.Next(10) < 7 ? Writable : 0;
            entry |= random.Next(10) < 7 ? UserBit : 0;
            entry |= random.Next(4) == 0 ? NoExecute : 0;
            entry |= random.Next(2) == 0 ? Accessed : 0;
            entry |= leaf && random.Next(2) == 0 ? Dirty : 0;
            entry |= random.Next(30) == 0 ? Reserved51 : 0;
            return entry;
        }
    }

    /// <summary>A fresh 64-bit Unicorn per case (its CR0.PG cannot be cleared in long mode), with an exception hook.</summary>
    private sealed class PagedReference : IDisposable
    {
        private readonly UnicornHandle _uc;
        private readonly int* _vector;

        public PagedReference()
        {
            Unicorn.Check(Unicorn.uc_open(Unicorn.UC_ARCH_X86, Unicorn.UC_MODE_64, out _uc), "uc_open");
            Unicorn.Check(Unicorn.uc_mem_map(_uc, 0, (nuint)MemorySize, Unicorn.UC_PROT_ALL), "uc_mem_map");
            Unicorn.Check(Unicorn.uc_mem_map(_uc, DataLinear, PageSize, Unicorn.UC_PROT_ALL), "uc_mem_map");
            _vector = (int*)NativeMemory.Alloc(sizeof(int));
            *_vector = NoFault;
            delegate* unmanaged[Cdecl]<nint, uint, nint, void> callback = &OnInterrupt;
            Unicorn.Check(Unicorn.uc_hook_add(_uc, out _, Unicorn.UC_HOOK_INTR, (nint)callback, (nint)_vector, 1, 0), "uc_hook_add");
        }

        public Outcome Run(byte[] image, Scenario scenario)
        {
            fixed (byte* p = image)
            {
                Unicorn.Check(Unicorn.uc_mem_write(_uc, 0, p, (nuint)image.Length), "uc_mem_write");
                Unicorn.Check(Unicorn.uc_mem_write(_uc, DataLinear, p + DataPhysical, PageSize), "uc_mem_write");
            }

            scenario.LoadRegisters((register, value) => Write(Unicorn.Gpr64[register], value));
            int status = Unicorn.uc_emu_start(_uc, PrologueAddress, scenario.Until, 0, 0);
            if (status != Unicorn.UC_ERR_OK)
            {
                throw new InvalidOperationException($"uc_emu_start failed with uc_err {status} at rip 0x{Read(Unicorn.UC_X86_REG_RIP):X}, cr0 0x{Read(Unicorn.UC_X86_REG_CR0):X} cr3 0x{Read(Unicorn.UC_X86_REG_CR3):X} cr4 0x{Read(Unicorn.UC_X86_REG_CR0 + 4):X}");
            }

            var memory = new byte[MemorySize];
            fixed (byte* p = memory)
            {
                Unicorn.Check(Unicorn.uc_mem_read(_uc, 0, p, (nuint)memory.Length), "uc_mem_read");
                Unicorn.Check(Unicorn.uc_mem_read(_uc, DataLinear, p + DataPhysical, PageSize), "uc_mem_read");
            }

            return new Outcome(*_vector, Read(Unicorn.UC_X86_REG_CR2), Read(Unicorn.UC_X86_REG_RIP), Read(Unicorn.UC_X86_REG_RAX), memory);
        }

        public ulong Read(int register)
        {
            ulong value = 0;
            Unicorn.Check(Unicorn.uc_reg_read(_uc, register, &value), "uc_reg_read");
            return value;
        }

        public void Write(int register, ulong value) => Unicorn.Check(Unicorn.uc_reg_write(_uc, register, &value), "uc_reg_write");

        public void Dispose()
        {
            _uc.Dispose();
            NativeMemory.Free(_vector);
        }

        [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
        private static void OnInterrupt(nint uc, uint vector, nint state)
        {
            // Safe: state is the int this reference allocated and frees only after uc_close.
            *(int*)state = (int)vector;
            Unicorn.uc_emu_stop(uc);
        }
    }
}
