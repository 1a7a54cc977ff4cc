using ActorVmm.Machine.Vcpu;

namespace ActorVmm.Emulator.Cpu;

/// <summary>Machine state for internal-error and shutdown exits.</summary>
internal sealed partial class X86Core
{
    private static readonly string[] GprNames = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];

    /// <summary>Registers, the linear RIP and up to 15 instruction bytes (fewer where memory is not RAM).</summary>
    internal VcpuDiagnostics CaptureDiagnostics()
    {
        var registers = new Dictionary<string, ulong>(StringComparer.Ordinal);
        for (int i = 0; i < GprNames.Length; i++)
        {
            registers[GprNames[i]] = Gpr[i];
        }

        registers["rip"] = Rip;
        registers["rflags"] = Flags;
        registers["cs"] = Seg[CS].Selector;
        registers["ds"] = Seg[DS].Selector;
        registers["ss"] = Seg[SS].Selector;
        registers["es"] = Seg[ES].Selector;
        registers["cr0"] = Cr0;
        registers["cr2"] = Cr2;
        registers["cr3"] = Cr3;
        registers["cr4"] = Cr4;
        registers["efer"] = Efer;
        ulong linear = CodeLinear(Rip);
        var bytes = new List<byte>(MaxInstructionLength);
        for (int i = 0; i < MaxInstructionLength; i++)
        {
            try
            {
                ulong physical = Translate(CodeLinear(Rip + (ulong)i), AccessKind.Fetch);
                if (!_memory.TryTranslate(physical, 1, out _))
                {
                    break;
                }

                bytes.Add((byte)ReadPhysical(physical, 1));
            }
            catch (GuestFault)
            {
                break;
            }
        }

        return new VcpuDiagnostics(linear, [.. bytes], registers);
    }
}
