using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.TestGuests;

/// <summary>
/// A 64-bit guest (started with the long-mode entry, code at <see cref="CodeAddress"/>) that probes the machine's memory
/// map the same way on every backend: it extends the entry's 1 GiB identity map to <see cref="MappedGiB"/> GiB, stores
/// markers in RAM and reads them back, reads inside the MMIO hole, stores and loads across the end of RAM into the hole,
/// and reads CMOS registers. Every value it reads goes to <see cref="ReportPort"/> as 32-bit OUTs (64-bit values low half
/// first); then it exits 0.
/// </summary>
public static class MemoryMapGuests
{
    /// <summary>Where the code goes (inside the entry's identity map, clear of its tables).</summary>
    public const ulong CodeAddress = 0x20_0000;

    /// <summary>The stack the entry state gets (unused by the probe itself).</summary>
    public const ulong StackAddress = 0x30_0000;

    /// <summary>Where the guest builds its extra page directories (one page per GiB from 1 GiB up).</summary>
    public const ulong DirectoriesAddress = 0x10_0000;

    /// <summary>How much of guest-physical space the guest identity-maps (2 MiB pages).</summary>
    public const int MappedGiB = 5;

    /// <summary>The port every value read is reported on (32-bit OUT).</summary>
    public const ushort ReportPort = IoGuests.ResultPort;

    /// <summary>Marker stored below the hole.</summary>
    public const ulong LowMarker = 0x0123_4567_89AB_CDEF;

    /// <summary>Marker stored above 4 GiB.</summary>
    public const ulong HighMarker = 0xFEDC_BA98_7654_3210;

    /// <summary>Marker stored across the end of RAM (its low half lands in RAM, its high half on the MMIO bus).</summary>
    public const ulong StraddleMarker = 0x1122_3344_5566_7788;

    private const ulong OneGiB = 1UL << 30;
    private const ulong LargePageBytes = 2UL << 20;
    private const ulong PresentWritable = 0x3;
    private const ulong PresentWritableLarge = 0x83;
    private const ulong FrameMask = ~0xFFFUL;
    private const int EntriesPerTable = 512;
    private const byte CmosIndexPort = 0x70;
    private const byte CmosDataPort = 0x71;
    private const int StraddleBytesInRam = 4;

    /// <summary>The addresses a probe works on.</summary>
    /// <param name="BelowHole">An 8-byte RAM location just below the hole start.</param>
    /// <param name="AboveFourGiB">An 8-byte RAM location at or above 4 GiB.</param>
    /// <param name="InHole">An address inside the hole with no device (reads as all ones).</param>
    /// <param name="RamEnd">The hole start: the probe stores 8 bytes at <c>RamEnd - 4</c>.</param>
    /// <param name="CmosIndices">CMOS registers to read, in order.</param>
    public sealed record Probe(ulong BelowHole, ulong AboveFourGiB, ulong InHole, ulong RamEnd, IReadOnlyList<byte> CmosIndices);

    /// <summary>Where the straddling store of <paramref name="probe"/> starts.</summary>
    public static ulong StraddleAddress(Probe probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        return probe.RamEnd - StraddleBytesInRam;
    }

    /// <summary>Assembles the probe for <paramref name="probe"/>; load it at <see cref="CodeAddress"/>.</summary>
    public static byte[] Build(Probe probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        var asm = new Assembler(64);
        MapMoreMemory(asm);
        asm.mov(dx, ReportPort);

        StoreLoadAndReport(asm, probe.BelowHole, LowMarker);
        StoreLoadAndReport(asm, probe.AboveFourGiB, HighMarker);

        // A read inside the hole: the MMIO bus answers it.
        asm.mov(rbx, probe.InHole);
        asm.mov(rcx, __qword_ptr[rbx]);
        Report64(asm);

        // Across the end of RAM: 4 bytes to RAM, 4 to the bus; then read back the RAM half, then the whole straddle.
        asm.mov(rbx, StraddleAddress(probe));
        asm.mov(rax, StraddleMarker);
        asm.mov(__qword_ptr[rbx], rax);
        asm.mov(ecx, __dword_ptr[rbx]);
        asm.mov(eax, ecx);
        asm.@out(dx, eax);
        asm.mov(rcx, __qword_ptr[rbx]);
        Report64(asm);

        foreach (byte index in probe.CmosIndices)
        {
            asm.mov(al, index);
            asm.@out(CmosIndexPort, al);
            asm.@in(al, CmosDataPort);
            asm.movzx(eax, al);
            asm.@out(dx, eax);
        }

        GuestAssembler.EmitExit(asm, 0);
        using var stream = new MemoryStream();
        asm.Assemble(new StreamCodeWriter(stream), CodeAddress);
        return stream.ToArray();
    }

    /// <summary>
    /// Identity-maps GiB 1 to <see cref="MappedGiB"/> with 2 MiB pages: fills one page directory per GiB at
    /// <see cref="DirectoriesAddress"/>, links them into the PDPT the entry's PML4 points at, and reloads CR3.
    /// </summary>
    private static void MapMoreMemory(Assembler asm)
    {
        var fill = asm.CreateLabel();
        var link = asm.CreateLabel();
        asm.mov(rdi, DirectoriesAddress);
        asm.mov(rax, OneGiB | PresentWritableLarge);
        asm.mov(ecx, (MappedGiB - 1) * EntriesPerTable);
        asm.Label(ref fill);
        asm.mov(__qword_ptr[rdi], rax);
        asm.add(rdi, 8);
        asm.add(rax, (int)LargePageBytes);
        asm.dec(ecx);
        asm.jnz(fill);

        // PDPT = PML4[0] & frame mask; PDPT[1..] = the new directories.
        asm.mov(rdi, cr3);
        asm.mov(rax, FrameMask);
        asm.and(rdi, rax);
        asm.mov(rdi, __qword_ptr[rdi]);
        asm.and(rdi, rax);
        asm.add(rdi, 8);
        asm.mov(rax, DirectoriesAddress | PresentWritable);
        asm.mov(ecx, MappedGiB - 1);
        asm.Label(ref link);
        asm.mov(__qword_ptr[rdi], rax);
        asm.add(rdi, 8);
        asm.add(rax, 0x1000);
        asm.dec(ecx);
        asm.jnz(link);
        asm.mov(rax, cr3);
        asm.mov(cr3, rax);
    }

    private static void StoreLoadAndReport(Assembler asm, ulong address, ulong marker)
    {
        asm.mov(rbx, address);
        asm.mov(rax, marker);
        asm.mov(__qword_ptr[rbx], rax);
        asm.xor(ecx, ecx);
        asm.mov(rcx, __qword_ptr[rbx]);
        Report64(asm);
    }

    // Reports RCX as two 32-bit OUTs, low half first (RAX is clobbered).
    private static void Report64(Assembler asm)
    {
        asm.mov(eax, ecx);
        asm.@out(dx, eax);
        asm.mov(rax, rcx);
        asm.shr(rax, 32);
        asm.@out(dx, eax);
    }
}
