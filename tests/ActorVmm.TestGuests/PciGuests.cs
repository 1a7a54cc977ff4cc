using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.TestGuests;

/// <summary>
/// What the PCI guest looks for and where it moves things; the host side (TestSupport's <c>PciEchoGuest</c>) fills it
/// from the device model's and the platform's own constants, so the guest library holds no second copy of them.
/// </summary>
/// <param name="ConfigAddressPort">CONFIG_ADDRESS (0xCF8).</param>
/// <param name="ConfigDataPort">CONFIG_DATA (0xCFC).</param>
/// <param name="EcamBase">The ECAM window (bus 0 at its start).</param>
/// <param name="Ids">The device's vendor ID | device ID &lt;&lt; 16, as a dword config read at 0 returns it.</param>
/// <param name="IoBar">Register index of its I/O BAR.</param>
/// <param name="Memory32Bar">Register index of its 32-bit memory BAR.</param>
/// <param name="Memory64Bar">Register index of its 64-bit memory BAR (low half).</param>
/// <param name="DecodeBits">Command register bits that turn on I/O and memory decoding.</param>
/// <param name="EchoRegister">Offset of the register that reads back what was written, in every BAR.</param>
/// <param name="IdentityRegister">Offset of the read-only register that names the BAR, in every BAR.</param>
/// <param name="NewIo">Where the guest moves the I/O BAR.</param>
/// <param name="NewMemory32">Where the guest moves the 32-bit memory BAR through 0xCF8/0xCFC.</param>
/// <param name="NewMemory64">Where the guest moves the 64-bit memory BAR (below 4 GiB, so 32-bit code reaches it).</param>
/// <param name="EcamMemory32">Where the guest moves the 32-bit memory BAR again, through ECAM.</param>
public sealed record PciGuestTarget(
    ushort ConfigAddressPort,
    ushort ConfigDataPort,
    uint EcamBase,
    uint Ids,
    int IoBar,
    int Memory32Bar,
    int Memory64Bar,
    ushort DecodeBits,
    int EchoRegister,
    int IdentityRegister,
    ushort NewIo,
    uint NewMemory32,
    uint NewMemory64,
    uint EcamMemory32);

/// <summary>
/// A flat-binary PCI guest: from real mode it switches to 32-bit protected mode with a flat data segment (no paging, so
/// the MMIO hole is reachable), then, reporting every value it reads as a 32-bit OUT to <see cref="ReportPort"/>:
/// <list type="number">
/// <item>enumerates bus 0 through 0xCF8/0xCFC: for each present device number, the number and the ID dword, then
/// <see cref="EnumerationEnd"/> (exit status <see cref="NotFoundStatus"/> if the target device is absent);</item>
/// <item>reads the command register (dword at 4), turns decoding off, and sizes all six BAR registers: for each, the
/// original value, then the value read back after writing all ones (the original is written back);</item>
/// <item>moves the I/O, 32-bit and 64-bit BARs with decoding off, turns decoding on, reads the command register again;</item>
/// <item>at each new place writes <see cref="EchoValue"/>(bar) to the echo register and reports it read back, then the
/// identity register; then the echo register at the old I/O and old 32-bit addresses;</item>
/// <item>through ECAM: the ID dword, then moves the 32-bit BAR again (decoding off, BAR, decoding on), reports the echo
/// register at the new place (after writing <see cref="EchoValue"/> of <see cref="EcamEchoTag"/>) and at the previous one;</item>
/// <item>exits with status 0.</item>
/// </list>
/// </summary>
public static class PciGuests
{
    /// <summary>The port every value goes to.</summary>
    public const ushort ReportPort = IoGuests.ResultPort;

    /// <summary>Reported where a device number would be, after the last present device.</summary>
    public const uint EnumerationEnd = 0xE0E0_E0E0;

    /// <summary>Exit status when enumeration did not find the target device.</summary>
    public const byte NotFoundStatus = 1;

    /// <summary>The tag of the echo value written through ECAM's new placement.</summary>
    public const int EcamEchoTag = 0xEC;

    /// <summary>BAR registers of a type-0 header.</summary>
    public const int BarRegisters = 6;

    // The BAR registers as found, in RAM between the stack (below 0x7000) and the image (0x10000).
    private const uint Originals = 0x9000;
    private const uint AllOnes = PciConfigCycles.AllOnes;
    private const uint IoAddressMask = ~3u;
    private const uint MemoryAddressMask = ~0xFu;
    private const int EcamDeviceShift = 15;
    private const int CommandRegister = 0x04;
    private const int Bar0Register = 0x10;

    /// <summary>The value the guest writes to the echo register of BAR <paramref name="tag"/>.</summary>
    public static uint EchoValue(int tag) => 0x5EC0_0000u | (uint)tag;

    /// <summary>Assembles the guest for <paramref name="target"/>.</summary>
    public static byte[] Build(PciGuestTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        return ProtectedModeImage.Build(asm => Build32(asm, target));
    }

    private static void Build32(Assembler asm, PciGuestTarget t)
    {
        var config = new PciConfigCycles(t.ConfigAddressPort, t.ConfigDataPort);

        // 1. Enumerate bus 0; EDI = the target's device number.
        var scan = asm.CreateLabel();
        var next = asm.CreateLabel();
        var found = asm.CreateLabel();
        asm.xor(ecx, ecx);
        asm.mov(edi, AllOnes);
        asm.Label(ref scan);
        asm.push(edi);
        asm.mov(edi, ecx);
        config.Read(asm, 0);
        asm.pop(edi);
        asm.cmp(eax, AllOnes);
        asm.je(next);
        asm.mov(ebx, eax);
        asm.mov(eax, ecx);
        Report(asm);
        asm.mov(eax, ebx);
        Report(asm);
        asm.cmp(ebx, t.Ids);
        asm.jne(next);
        asm.mov(edi, ecx);
        asm.Label(ref next);
        asm.inc(ecx);
        asm.cmp(ecx, PciConfigCycles.DevicesPerBus);
        asm.jb(scan);
        asm.mov(eax, EnumerationEnd);
        Report(asm);
        asm.cmp(edi, AllOnes);
        asm.jne(found);
        GuestAssembler.EmitExit(asm, NotFoundStatus);
        asm.Label(ref found);

        // 2. Command register, decoding off, size every BAR (originals kept at Originals).
        config.Read(asm, CommandRegister);
        Report(asm);
        config.Write16(asm, CommandRegister, 0);
        for (int bar = 0; bar < BarRegisters; bar++)
        {
            int register = Bar0Register + (bar * sizeof(uint));
            config.Read(asm, register);
            asm.mov(__dword_ptr[Original(bar)], eax);
            Report(asm);
            asm.mov(ebx, AllOnes);
            config.Write(asm, register);
            config.Read(asm, register);
            Report(asm);
            asm.mov(ebx, __dword_ptr[Original(bar)]);
            config.Write(asm, register);
        }

        // 3. Move the BARs while decoding is off, then turn decoding on.
        asm.mov(ebx, (uint)t.NewIo);
        config.Write(asm, Bar0Register + (t.IoBar * sizeof(uint)));
        asm.mov(ebx, t.NewMemory32);
        config.Write(asm, Bar0Register + (t.Memory32Bar * sizeof(uint)));
        asm.mov(ebx, t.NewMemory64);
        config.Write(asm, Bar0Register + (t.Memory64Bar * sizeof(uint)));
        asm.xor(ebx, ebx);
        config.Write(asm, Bar0Register + ((t.Memory64Bar + 1) * sizeof(uint)));
        config.Write16(asm, CommandRegister, t.DecodeBits);
        config.Read(asm, CommandRegister);
        Report(asm);

        // 4. The device at its new places, then nothing at the old ones.
        asm.mov(esi, (uint)t.NewIo);
        asm.lea(edx, __[esi + t.EchoRegister]);
        asm.mov(eax, EchoValue(t.IoBar));
        asm.@out(dx, eax);
        asm.@in(eax, dx);
        Report(asm);
        asm.lea(edx, __[esi + t.IdentityRegister]);
        asm.@in(eax, dx);
        Report(asm);
        EchoAndIdentity(asm, t, t.NewMemory32, t.Memory32Bar);
        EchoAndIdentity(asm, t, t.NewMemory64, t.Memory64Bar);
        asm.mov(esi, __dword_ptr[Original(t.IoBar)]);
        asm.and(esi, IoAddressMask);
        asm.lea(edx, __[esi + t.EchoRegister]);
        asm.@in(eax, dx);
        Report(asm);
        asm.mov(esi, __dword_ptr[Original(t.Memory32Bar)]);
        asm.and(esi, MemoryAddressMask);
        asm.mov(eax, __dword_ptr[esi + t.EchoRegister]);
        Report(asm);

        // 5. The same function through ECAM: IDs, and a move of the 32-bit BAR with decoding off.
        asm.mov(esi, edi);
        asm.shl(esi, EcamDeviceShift);
        asm.add(esi, t.EcamBase);
        asm.mov(eax, __dword_ptr[esi]);
        Report(asm);
        asm.mov(__word_ptr[esi + CommandRegister], 0);
        asm.mov(__dword_ptr[esi + Bar0Register + (t.Memory32Bar * sizeof(uint))], t.EcamMemory32);
        asm.mov(__word_ptr[esi + CommandRegister], t.DecodeBits);
        asm.mov(ebx, t.EcamMemory32);
        asm.mov(__dword_ptr[ebx + t.EchoRegister], EchoValue(EcamEchoTag));
        asm.mov(eax, __dword_ptr[ebx + t.EchoRegister]);
        Report(asm);
        asm.mov(ebx, t.NewMemory32);
        asm.mov(eax, __dword_ptr[ebx + t.EchoRegister]);
        Report(asm);

        GuestAssembler.EmitExit(asm, 0);
    }

    private static uint Original(int bar) => Originals + (uint)(bar * sizeof(uint));

    private static void EchoAndIdentity(Assembler asm, PciGuestTarget t, uint address, int bar)
    {
        asm.mov(ebx, address);
        asm.mov(__dword_ptr[ebx + t.EchoRegister], EchoValue(bar));
        asm.mov(eax, __dword_ptr[ebx + t.EchoRegister]);
        Report(asm);
        asm.mov(eax, __dword_ptr[ebx + t.IdentityRegister]);
        Report(asm);
    }

    // Reports EAX (DX is clobbered).
    private static void Report(Assembler asm)
    {
        asm.mov(dx, ReportPort);
        asm.@out(dx, eax);
    }
}
