using ActorVmm.Emulator.Cpu;
using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using ActorVmm.TestGuests;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.Emulator.Tests;

/// <summary>
/// Block translation where the interpreter's per-instruction view matters: code that rewrites itself inside a hot
/// translated loop, host writes into running code, page-table changes under translated code, interrupts and exit
/// requests arriving while a translated loop runs.
/// </summary>
public sealed class BlockTranslationTests : IDisposable
{
    private const ulong Memory = 16 * 1024 * 1024;
    private const ulong CodeAddress = 0x1000;
    private const ulong StackPointer = 0x7000;
    private const ushort OutputPort = 0xE0;
    private const ushort TickPort = 0xE4;
    private const uint Passes = 100;
    private const ulong PageDirectory = 0x10_0000;
    private const ulong PageTable = 0x10_1000;
    private const ulong RemappedLinear = 0x40_0000;
    private const ulong FirstPhysical = 0x8000;
    private const ulong SecondPhysical = 0x9000;
    private const uint FirstValue = 0xAAAA;
    private const uint SecondValue = 0xBBBB;
    private const ulong PagePresentWritable = 0x3;
    private const ulong PageLarge = 0x80;
    private const byte InterruptVector = 0x40;
    private const int IvtEntrySize = 4;
    private const uint DeviceAddress = 0x2000_0000;

    private readonly EmulatorVm _vm = new(new VmSpec("blocks", Memory));
    private readonly TrapTableWriter _traps;
    private readonly List<ulong> _outputs = [];

    public BlockTranslationTests()
    {
        _traps = _vm.Traps.ClaimWriter();
        _traps.Register(TrapBus.Pio, OutputPort, 1, access =>
        {
            if (access.IsWrite)
            {
                _outputs.Add(access.Value);
            }
        }, name: "output");

        // These tests need each block running from the moment it gets hot, so it compiles on the vCPU's own thread.
        Core.CompileInBackground = false;
    }

    private X86Core Core => _vm.Core(0);

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    public void A_hot_loop_that_starts_rewriting_its_own_immediate_sees_each_new_value(int threshold)
    {
        // top: mov al, imm8 ; out ; inc ebx ; (from pass CleanPasses on) mov [imm8], bl ; dec ecx ; jnz top.
        // The first passes leave the code alone, so the loop is translated before it starts patching itself.
        const uint CleanPasses = 50;
        LoadFlat32(threshold, (asm, address) =>
        {
            var top = asm.CreateLabel("top");
            var skip = asm.CreateLabel();
            asm.mov(ecx, Passes);
            asm.mov(edx, (uint)OutputPort);
            asm.xor(ebx, ebx);
            asm.Label(ref top);
            asm.mov(al, 0);
            asm.@out(dx, al);
            asm.inc(ebx);
            asm.cmp(ebx, CleanPasses);
            asm.jbe(skip);
            asm.mov(__byte_ptr[address("top") + 1], bl);
            asm.Label(ref skip);
            asm.dec(ecx);
            asm.jnz(top);
            asm.hlt();
            return [top];
        });

        Assert.Equal(VcpuExitReason.Halt, EmulatorHarness.RunWithin(Core).Reason);

        var expected = Enumerable.Repeat(0UL, (int)CleanPasses + 1).Concat(Enumerable.Range((int)CleanPasses + 1, (int)(Passes - CleanPasses - 1)).Select(i => (ulong)i));
        Assert.Equal(expected, _outputs);
        Assert.True(Core.BlocksEntered >= CleanPasses, $"{Core.BlocksEntered} block entries");
    }

    [Fact]
    public void A_store_into_a_later_instruction_of_the_same_block_takes_effect_before_it_runs()
    {
        // top: inc ebx ; mov [patch + 1], bl ; patch: mov al, imm8 ; out ; dec ecx ; jnz top — one block, which must
        // leave right after the store so the patched MOV runs with its new immediate. Each pass rewrites the page, so
        // only translating on first sight (threshold 1) gets it translated at all.
        LoadFlat32(1, (asm, address) =>
        {
            var top = asm.CreateLabel();
            var patch = asm.CreateLabel("patch");
            asm.mov(ecx, Passes);
            asm.mov(edx, (uint)OutputPort);
            asm.xor(ebx, ebx);
            asm.Label(ref top);
            asm.inc(ebx);
            asm.mov(__byte_ptr[address("patch") + 1], bl);
            asm.Label(ref patch);
            asm.mov(al, 0);
            asm.@out(dx, al);
            asm.dec(ecx);
            asm.jnz(top);
            asm.hlt();
            return [patch];
        });

        Assert.Equal(VcpuExitReason.Halt, EmulatorHarness.RunWithin(Core).Reason);

        Assert.Equal(Enumerable.Range(1, (int)Passes).Select(i => (ulong)i), _outputs);
        Assert.True(Core.BlocksEntered >= Passes, $"{Core.BlocksEntered} block entries");
    }

    [Fact]
    public void A_translated_store_into_another_pages_translated_code_takes_effect_at_its_next_call()
    {
        // Each pass rewrites the immediate of `mov eax, imm32; ret` on another page (the same value until pass
        // SwitchAt), then calls it: from the second pass on, the store goes through the host TLB inline, and the code
        // tracker must still hear of it so the callee's translation is dropped.
        const uint Calls = 40;
        const uint SwitchAt = 21;
        const ulong Function = SecondPhysical;
        const int ImmediateOffset = 1; // B8 id
        WriteCode(32, Function, asm =>
        {
            asm.mov(eax, FirstValue);
            asm.ret();
        });
        LoadFlat32(1, (asm, _) =>
        {
            var top = asm.CreateLabel();
            var skip = asm.CreateLabel();
            asm.mov(ecx, Calls);
            asm.xor(ebx, ebx);
            asm.mov(esi, FirstValue);
            asm.Label(ref top);
            asm.mov(__dword_ptr[Function + ImmediateOffset], esi);
            asm.call(Function);
            asm.add(ebx, eax);
            asm.cmp(ecx, SwitchAt);
            asm.jne(skip);
            asm.mov(esi, SecondValue);
            asm.Label(ref skip);
            asm.dec(ecx);
            asm.jnz(top);
            asm.hlt();
            return [];
        });

        Assert.Equal(VcpuExitReason.Halt, EmulatorHarness.RunWithin(Core).Reason);

        uint before = Calls - SwitchAt + 1;
        Assert.Equal((ulong)((before * FirstValue) + ((Calls - before) * SecondValue)), Core.Gpr[X86Core.RBX]);
        Assert.True(Core.BlocksEntered >= Calls, $"{Core.BlocksEntered} block entries");
    }

    [Fact]
    public void A_host_write_into_a_running_translated_loop_takes_effect_at_the_next_pass()
    {
        const int WritesBeforePatch = 10;
        const byte Before = 0x11;
        const byte After = 0x22;
        ulong patchAddress = 0;
        int ticks = 0;
        _traps.Register(TrapBus.Pio, TickPort, 1, access =>
        {
            if (access.IsWrite && ++ticks == WritesBeforePatch)
            {
                _vm.Memory.Write(patchAddress, After);
            }
        }, name: "patcher");
        var labels = LoadFlat32(1, (asm, address) =>
        {
            var top = asm.CreateLabel("top");
            asm.mov(ecx, Passes);
            asm.mov(edx, (uint)OutputPort);
            asm.Label(ref top);
            asm.mov(al, Before);
            asm.@out(dx, al);
            asm.@out((byte)TickPort, al);
            asm.dec(ecx);
            asm.jnz(top);
            asm.hlt();
            return [top];
        });
        patchAddress = labels["top"] + 1;

        Assert.Equal(VcpuExitReason.Halt, EmulatorHarness.RunWithin(Core).Reason);

        var expected = Enumerable.Repeat((ulong)Before, WritesBeforePatch).Concat(Enumerable.Repeat((ulong)After, (int)Passes - WritesBeforePatch));
        Assert.Equal(expected, _outputs);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Remapping_a_translated_code_page_runs_the_new_page(bool invlpg)
    {
        const uint Calls = 40;
        const uint RemapAt = 21;

        // Identity-map the first 4 MiB with one large page; RemappedLinear maps through a page table to FirstPhysical.
        _vm.Memory.Write(PageDirectory, (uint)(PagePresentWritable | PageLarge));
        _vm.Memory.Write(PageDirectory + 4, (uint)(PageTable | PagePresentWritable));
        _vm.Memory.Write(PageTable, (uint)(FirstPhysical | PagePresentWritable));
        WriteCode(32, FirstPhysical, asm =>
        {
            asm.mov(eax, FirstValue);
            asm.ret();
        });
        WriteCode(32, SecondPhysical, asm =>
        {
            asm.mov(eax, SecondValue);
            asm.ret();
        });
        LoadFlat32(2, (asm, _) =>
        {
            var top = asm.CreateLabel();
            var skip = asm.CreateLabel();
            asm.mov(ecx, Calls);
            asm.xor(ebx, ebx);
            asm.Label(ref top);
            asm.call(RemappedLinear);
            asm.add(ebx, eax);
            asm.cmp(ecx, RemapAt);
            asm.jne(skip);
            asm.mov(__dword_ptr[PageTable], (uint)(SecondPhysical | PagePresentWritable));
            if (invlpg)
            {
                asm.invlpg(__[RemappedLinear]);
            }
            else
            {
                asm.mov(eax, cr3);
                asm.mov(cr3, eax);
            }

            asm.Label(ref skip);
            asm.dec(ecx);
            asm.jnz(top);
            asm.hlt();
            return [];
        });
        Core.Cr3 = PageDirectory;
        Core.Cr4 |= X86Core.Cr4PSE;
        Core.Cr0 |= X86Core.Cr0PG;
        Core.FlushTlb();

        Assert.Equal(VcpuExitReason.Halt, EmulatorHarness.RunWithin(Core).Reason);

        uint before = Calls - RemapAt + 1;
        Assert.Equal((ulong)((before * FirstValue) + ((Calls - before) * SecondValue)), Core.Gpr[X86Core.RBX]);
        Assert.True(Core.BlocksTranslated >= 2, $"{Core.BlocksTranslated} blocks translated");
    }

    [Fact]
    public void An_interrupt_raised_while_a_translated_loop_runs_is_taken_at_an_instruction_boundary()
    {
        const uint Iterations = 20_000;
        const int RaiseOnTick = 1000;
        const ushort InterruptedIp = GuestAssembler.DataOffset;
        const ushort HandlerRuns = GuestAssembler.DataOffset + 2;
        var controller = new FakeInterruptController();
        _vm.AttachInterruptController(controller);
        int ticks = 0;
        _traps.Register(TrapBus.Pio, TickPort, 1, access =>
        {
            if (access.IsWrite && ++ticks == RaiseOnTick)
            {
                controller.Raise(InterruptVector);
            }
        }, name: "tick");
        byte[] code = GuestAssembler.AssembleWithLabels(
            16,
            0,
            (asm, address) =>
            {
                var top = asm.CreateLabel("top");
                var end = asm.CreateLabel("end");
                var handler = asm.CreateLabel("handler");
                asm.xor(ax, ax);
                asm.mov(es, ax);
                asm.mov(__word_ptr.es[InterruptVector * IvtEntrySize], (ushort)address("handler"));
                asm.mov(ax, cs);
                asm.mov(__word_ptr.es[(InterruptVector * IvtEntrySize) + 2], ax);
                asm.mov(ecx, Iterations);
                asm.xor(eax, eax);
                asm.xor(ebx, ebx);
                asm.xor(esi, esi);
                asm.mov(dx, TickPort);
                asm.sti();
                asm.Label(ref top);
                for (int i = 0; i < 3; i++)
                {
                    asm.add(eax, 3);
                    asm.inc(ebx);
                    asm.add(esi, ebx);
                    asm.@out(dx, al);
                }

                asm.dec(ecx);
                asm.jnz(top);
                asm.Label(ref end);
                asm.hlt();
                asm.Label(ref handler);
                asm.push(bp);
                asm.mov(bp, sp);
                asm.mov(di, __word_ptr[bp + 2]);
                asm.mov(__word_ptr[InterruptedIp], di);
                asm.add(__word_ptr[HandlerRuns], 1);
                asm.pop(bp);
                asm.iret();
                return [top, end, handler];
            },
            out var labels);
        byte[] image = new byte[GuestAssembler.DataOffset + 4];
        code.CopyTo(image, 0);
        var entry = FlatBinaryLoader.Load(_vm.Memory, image);
        Core.SetEntryState(entry);
        Core.TranslationEnabled = true;
        Core.TranslationThreshold = 1;

        Assert.Equal(VcpuExitReason.Halt, EmulatorHarness.RunWithin(Core).Reason);

        ulong data = GuestAssembler.LoadAddress + GuestAssembler.DataOffset;
        Assert.Equal(1, _vm.Memory.Read<ushort>(data + 2));
        ushort interrupted = _vm.Memory.Read<ushort>(data);
        var boundaries = InstructionOffsets(image, 16, (int)labels["top"], (int)labels["end"]);
        Assert.Contains(interrupted, boundaries);
        const uint Steps = Iterations * 3;
        Assert.Equal(Steps * 3, (uint)Core.Gpr[X86Core.RAX]);
        Assert.Equal(Steps, (uint)Core.Gpr[X86Core.RBX]);
        Assert.Equal((ulong)Steps * (Steps + 1) / 2 & 0xFFFF_FFFF, Core.Gpr[X86Core.RSI]);
        Assert.True(Core.BlocksEntered > 0);
    }

    [Fact]
    public void An_exit_request_made_by_a_memory_operands_read_leaves_the_block_after_the_whole_instruction()
    {
        // add eax, [device] and add [device + 4], 1 read MMIO (always the call-out path); the read handler asks the
        // vCPU to exit every few reads. The block may leave only after the instruction: the add done, the
        // read-modify-write's write made.
        const uint Answer = 7;
        const int ExitEvery = 3;
        int reads = 0;
        uint counter = 0;
        _traps.Register(TrapBus.Mmio, DeviceAddress, 8, access =>
        {
            if (access.IsWrite)
            {
                counter = (uint)access.Value;
                return;
            }

            access.SetValue(access.Address == DeviceAddress ? Answer : counter);
            if (++reads % ExitEvery == 0)
            {
                Core.RequestExit();
            }
        }, name: "device");
        LoadFlat32(1, (asm, _) =>
        {
            var top = asm.CreateLabel();
            asm.mov(ecx, Passes);
            asm.xor(eax, eax);
            asm.Label(ref top);
            asm.add(eax, __dword_ptr[DeviceAddress]);
            asm.add(__dword_ptr[DeviceAddress + 4], 1);
            asm.dec(ecx);
            asm.jnz(top);
            asm.hlt();
            return [];
        });

        int exits = 0;
        VcpuExitReason reason;
        while ((reason = EmulatorHarness.RunWithin(Core).Reason) == VcpuExitReason.Interrupted)
        {
            exits++;
        }

        Assert.Equal(VcpuExitReason.Halt, reason);
        Assert.Equal(Passes * Answer, (uint)Core.Gpr[X86Core.RAX]);
        Assert.Equal(Passes, counter);
        Assert.True(exits >= (int)(2 * Passes / ExitEvery) - 1, $"{exits} exits");
        Assert.True(Core.BlocksEntered > 0);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_hot_two_block_loop_runs_as_one_trace_that_leaves_by_its_side_exit_when_the_branch_goes_the_other_way(bool hotEdgeIsTaken)
    {
        // Counts the marker bytes of a buffer. The byte test's branch goes one way nine times in ten: taken (JNE over
        // the count) or not taken (JE to a count out of line). Once hot, the byte test's block is translated again
        // as a trace through that edge into the loop test's block, which loops back to the trace's own entry; a
        // marker byte leaves by the side exit.
        const int Length = 3000;
        const int MarkerEvery = 10;
        const byte Marker = 0xE8;
        const uint Buffer = 0x8000;
        var bytes = new byte[Length];
        for (int i = 0; i < Length; i += MarkerEvery)
        {
            bytes[i] = Marker;
        }

        _vm.Memory.Write(Buffer, bytes);
        LoadFlat32(1, (asm, _) =>
        {
            var top = asm.CreateLabel();
            var loopTest = asm.CreateLabel();
            var count = asm.CreateLabel();
            asm.mov(esi, Buffer);
            asm.mov(ecx, Length);
            asm.xor(eax, eax);
            asm.xor(ebx, ebx);
            asm.Label(ref top);
            asm.movzx(edx, __byte_ptr[esi + eax]);
            asm.inc(eax);
            asm.cmp(dl, Marker);
            if (hotEdgeIsTaken)
            {
                asm.jne(loopTest);
                asm.inc(ebx);
            }
            else
            {
                asm.je(count);
            }

            asm.Label(ref loopTest);
            asm.cmp(eax, ecx);
            asm.jb(top);
            asm.hlt();
            asm.Label(ref count);
            asm.inc(ebx);
            asm.jmp(loopTest);
            return [];
        });
        Core.ExtensionThreshold = 100;

        Assert.Equal(VcpuExitReason.Halt, EmulatorHarness.RunWithin(Core).Reason);

        Assert.Equal((ulong)(Length / MarkerEvery), Core.Gpr[X86Core.RBX]);
        Assert.Equal((ulong)Length, Core.Gpr[X86Core.RAX]);

        // Block by block, each pass enters two blocks; as a trace, a pass without a marker enters none.
        Assert.True(Core.BlocksEntered < Length, $"{Core.BlocksEntered} block entries for {Length} passes");
    }

    [Fact]
    public void A_traces_side_exit_hands_on_the_flags_its_side_path_reads_and_the_trace_keeps_those_it_reads()
    {
        // The trace: load; add edi, edx; dec ebx; jz rare (rarely taken: the side exit); setp cl (the DEC's parity,
        // read on the trace); loop test. The ADD's carry is dead along the trace (the loop's CMP redefines it) but the
        // side path's ADC reads it, and the side path's SETZ reads the DEC's zero flag, which the branch tested
        // directly: the trace must compute both before its side exit, and the DEC's parity for itself.
        const int Length = 2000;
        const int Every = 7;
        const uint Buffer = 0x8000;
        const int ZeroFlagUnit = 1 << 16;
        var random = new Random(18);
        var values = new uint[Length];
        uint sum = 0;
        uint side = 0;
        uint parities = 0;
        int countdown = Every;
        for (int i = 0; i < Length; i++)
        {
            values[i] = (uint)random.NextInt64(0, 1L << 32);
            bool carry = (ulong)sum + values[i] > uint.MaxValue;
            sum += values[i];
            if (--countdown == 0)
            {
                side += (carry ? 1u : 0u) + ZeroFlagUnit;
                countdown = Every;
            }
            else if (System.Numerics.BitOperations.PopCount((uint)countdown & 0xFF) % 2 == 0)
            {
                parities++;
            }
        }

        _vm.Memory.Write(Buffer, values.SelectMany(BitConverter.GetBytes).ToArray());
        LoadFlat32(1, (asm, _) =>
        {
            var top = asm.CreateLabel();
            var back = asm.CreateLabel();
            var rare = asm.CreateLabel();
            asm.xor(eax, eax);
            asm.xor(esi, esi);
            asm.xor(edi, edi);
            asm.xor(ebp, ebp);
            asm.mov(ebx, Every);
            asm.Label(ref top);
            asm.mov(edx, __dword_ptr[(eax * 4) + Buffer]);
            asm.add(edi, edx);
            asm.dec(ebx);
            asm.jz(rare);
            asm.setp(cl);
            asm.movzx(ecx, cl);
            asm.add(esi, ecx);
            asm.Label(ref back);
            asm.inc(eax);
            asm.cmp(eax, Length);
            asm.jb(top);
            asm.hlt();
            asm.Label(ref rare);
            asm.setz(cl);
            asm.adc(ebp, 0);
            asm.movzx(ecx, cl);
            asm.shl(ecx, 16);
            asm.add(ebp, ecx);
            asm.mov(ebx, Every);
            asm.jmp(back);
            return [];
        });
        Core.ExtensionThreshold = 50;

        Assert.Equal(VcpuExitReason.Halt, EmulatorHarness.RunWithin(Core).Reason);

        Assert.Equal(sum, (uint)Core.Gpr[X86Core.RDI]);
        Assert.Equal(side, (uint)Core.Gpr[X86Core.RBP]);
        Assert.Equal(parities, (uint)Core.Gpr[X86Core.RSI]);
        Assert.True(Core.BlocksEntered < Length, $"{Core.BlocksEntered} block entries for {Length} passes");
    }

    [Fact]
    public async Task An_exit_request_stops_a_translated_endless_loop()
    {
        var entry = FlatBinaryLoader.Load(_vm.Memory, IoGuests.SpinForever());
        Core.SetEntryState(entry);
        Core.TranslationEnabled = true;
        Core.TranslationThreshold = 1;
        var requester = Task.Run(() =>
        {
            Assert.True(SpinWait.SpinUntil(() => Core.BlocksEntered > 10, EmulatorHarness.GuestTimeout), "no translated block ran");
            Core.RequestExit();
        });

        var exit = Core.Run();
        await requester.WaitAsync(EmulatorHarness.GuestTimeout);

        Assert.Equal(VcpuExitReason.Interrupted, exit.Reason);
        Assert.True(Core.BlocksTranslated >= 1);
    }

    [Fact]
    public void With_translation_off_the_interpreter_runs_everything()
    {
        LoadFlat32(1, (asm, _) =>
        {
            var top = asm.CreateLabel();
            asm.mov(ecx, Passes);
            asm.Label(ref top);
            asm.add(eax, ecx);
            asm.dec(ecx);
            asm.jnz(top);
            asm.hlt();
            return [];
        });
        Core.TranslationEnabled = false;

        Assert.Equal(VcpuExitReason.Halt, EmulatorHarness.RunWithin(Core).Reason);

        Assert.Equal((ulong)(Passes * (Passes + 1) / 2), Core.Gpr[X86Core.RAX]);
        Assert.Equal(0, Core.BlocksTranslated);
    }

    public void Dispose() => _vm.Dispose();

    private IReadOnlyDictionary<string, ulong> LoadFlat32(int threshold, Func<Assembler, Func<string, ulong>, Label[]> build)
    {
        Core.SetFlatMode(32);
        Core.TranslationEnabled = true;
        Core.TranslationThreshold = threshold;
        byte[] code = GuestAssembler.AssembleWithLabels(32, CodeAddress, build, out var labels);
        _vm.Memory.Write(CodeAddress, code);
        Core.Rip = CodeAddress;
        Core.Gpr[X86Core.RSP] = StackPointer;
        return labels;
    }

    private void WriteCode(int bitness, ulong address, Action<Assembler> emit)
    {
        var asm = new Assembler(bitness);
        emit(asm);
        using var stream = new MemoryStream();
        asm.Assemble(new StreamCodeWriter(stream), address);
        _vm.Memory.Write(address, stream.ToArray());
    }

    /// <summary>The offsets where instructions start in [<paramref name="from"/>, <paramref name="to"/>) of a flat image.</summary>
    private static HashSet<ushort> InstructionOffsets(byte[] image, int bitness, int from, int to)
    {
        var decoder = Decoder.Create(bitness, new ByteArrayCodeReader(image, from, to - from), (ulong)from);
        var offsets = new HashSet<ushort>();
        while (decoder.IP < (ulong)to)
        {
            offsets.Add((ushort)decoder.IP);
            decoder.Decode(out _);
        }

        return offsets;
    }
}
