using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.TestGuests;

/// <summary>
/// Run on two or more vCPUs at the same entry point: each finds its id with CPUID (initial APIC id),
/// LOCK-increments a shared counter <see cref="IncrementsPerVcpu"/> times, then LOCK-increments a done
/// count. vCPU 0 waits for every vCPU, writes the counter to <see cref="IoGuests.ResultPort"/> and exits;
/// the others halt with interrupts off.
/// </summary>
public static class LockGuest
{
    /// <summary>Increments each vCPU makes.</summary>
    public const uint IncrementsPerVcpu = 200_000;

    private const ushort CounterOffset = GuestAssembler.DataOffset;
    private const ushort DoneOffset = GuestAssembler.DataOffset + 4;
    private const int ApicIdShift = 24;

    /// <summary>Builds the guest for <paramref name="vcpus"/> vCPUs.</summary>
    public static byte[] Build(int vcpus) =>
        GuestAssembler.Assemble16(
            asm =>
            {
                var loop = asm.CreateLabel();
                var wait = asm.CreateLabel();
                var secondary = asm.CreateLabel();
                asm.mov(eax, 1u);
                asm.cpuid();
                asm.shr(ebx, ApicIdShift);
                asm.mov(ecx, IncrementsPerVcpu);
                asm.Label(ref loop);
                asm.@lock.inc(__dword_ptr[CounterOffset]);
                asm.dec(ecx);
                asm.jnz(loop);
                asm.@lock.inc(__dword_ptr[DoneOffset]);
                asm.test(ebx, ebx);
                asm.jnz(secondary);
                asm.Label(ref wait);
                asm.pause();
                asm.cmp(__dword_ptr[DoneOffset], (uint)vcpus);
                asm.jne(wait);
                asm.mov(eax, __dword_ptr[CounterOffset]);
                asm.mov(dx, IoGuests.ResultPort);
                asm.@out(dx, eax);
                GuestAssembler.EmitExit(asm, 0);
                asm.Label(ref secondary);
                asm.cli();
                asm.hlt();
                asm.jmp(secondary);
            },
            new byte[8]);
}
