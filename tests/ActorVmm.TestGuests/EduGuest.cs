using System.Text;
using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Vfio;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Layout;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.TestGuests;

/// <summary>
/// A flat guest that drives QEMU's edu device (<see cref="EduRegisters"/>) as a passed-through PCI function, the same
/// binary under actorvmm (<c>--vfio-pci</c>) and under QEMU (<c>-device vfio-pci</c>, through <see cref="FlatBiosImage"/>).
/// In 32-bit flat protected mode (<see cref="ProtectedModeImage"/>) it finds 1234:11e8 on bus 0 through CONFIG_ADDRESS /
/// CONFIG_DATA, puts BAR 0 at <see cref="Bar0Address"/> with memory decoding and bus mastering on, then through BAR 0:
/// reads the identification, checks liveness, computes <see cref="FactorialInput"/>!, moves <see cref="DmaLength"/>
/// bytes from RAM into the device's DMA buffer and back into other RAM, takes the device's interrupt twice through
/// INTx (IOAPIC, level-triggered; the second proves the line was unmasked after the first EOI) and once through MSI
/// (local APIC). Each step prints a marker line on COM1, <c>EDU TAG VALUE ok|BAD</c> (or <c>EDU TAG VALUE</c> for
/// values that depend on the VMM, such as the device number), and the guest exits through the exit port with the
/// number of BAD markers (0: every step passed).
/// </summary>
public static class EduGuest
{
    /// <summary>Every marker line starts with this.</summary>
    public const string MarkerPrefix = "EDU ";

    /// <summary>Marker suffix of a step that gave the expected value.</summary>
    public const string Passed = "ok";

    /// <summary>Marker suffix of a step that did not.</summary>
    public const string Failed = "BAD";

    /// <summary>Marker: the device number found on bus 0 (informational).</summary>
    public const string SlotTag = "SLOT";

    /// <summary>Marker: BAR 0 read back after programming it.</summary>
    public const string Bar0Tag = "BAR0";

    /// <summary>Marker: the interrupt line/pin dword (informational; the line is the VMM's firmware's choice).</summary>
    public const string LineTag = "LINE";

    /// <summary>Marker: the identification register.</summary>
    public const string IdTag = "ID";

    /// <summary>Marker: the liveness register after writing <see cref="LivenessValue"/>.</summary>
    public const string LivenessTag = "LIVE";

    /// <summary>Marker: the factorial register after computing.</summary>
    public const string FactorialTag = "FACT";

    /// <summary>Marker: how many of the <see cref="DmaLength"/> bytes came back equal after the two DMA transfers.</summary>
    public const string DmaTag = "DMA";

    /// <summary>Marker: the interrupt status the INTx handler read the first time.</summary>
    public const string IntxTag = "INTX";

    /// <summary>Marker: the interrupt status the INTx handler read the second time.</summary>
    public const string IntxAgainTag = "INT2";

    /// <summary>Marker: the interrupt status the MSI handler read.</summary>
    public const string MsiTag = "MSI";

    /// <summary>Marker: the number of BAD markers before it (also the exit status).</summary>
    public const string DoneTag = "DONE";

    /// <summary>The lines of the checked markers when every step passes, in order (what the lane compares a transcript with).</summary>
    public static IReadOnlyList<string> ExpectedMarkers { get; } =
    [
        Marker(Bar0Tag, Bar0Address),
        Marker(IdTag, EduRegisters.IdentificationValue),
        Marker(LivenessTag, ~LivenessValue),
        Marker(FactorialTag, FactorialValue),
        Marker(DmaTag, DmaLength),
        Marker(IntxTag, IntxRaise),
        Marker(IntxAgainTag, IntxRaiseAgain),
        Marker(MsiTag, MsiRaise),
        Marker(DoneTag, 0),
    ];

    /// <summary>Where the guest puts BAR 0: inside actorvmm's 32-bit PCI window, and free on QEMU's q35 without firmware.</summary>
    public const uint Bar0Address = 0xF000_0000;

    /// <summary>Value written to the liveness register.</summary>
    public const uint LivenessValue = 0x1234_5678;

    /// <summary>The factorial the device computes.</summary>
    public const uint FactorialInput = 5;

    /// <summary><see cref="FactorialInput"/>!.</summary>
    public const uint FactorialValue = 120;

    /// <summary>Bytes moved by each DMA transfer.</summary>
    public const int DmaLength = 64;

    /// <summary>Guest RAM the first transfer reads (below the device's 28-bit DMA mask).</summary>
    public const uint DmaSourceAddress = 0x2_0000;

    /// <summary>Guest RAM the second transfer writes.</summary>
    public const uint DmaResultAddress = 0x2_1000;

    /// <summary>Vector of the INTx handler (IOAPIC redirection entries).</summary>
    public const byte IntxVector = 0x30;

    /// <summary>Vector of the MSI handler (the MSI data register).</summary>
    public const byte MsiVector = 0x31;

    /// <summary>Value the guest raises the first INTx with.</summary>
    public const uint IntxRaise = 0x1000;

    /// <summary>Value the guest raises the second INTx with.</summary>
    public const uint IntxRaiseAgain = 0x1001;

    /// <summary>Value the guest raises the MSI with.</summary>
    public const uint MsiRaise = 0x2000;

    /// <summary>Exit status when the device is not on bus 0.</summary>
    public const byte NotFoundStatus = 0xFF;

    /// <summary>
    /// IOAPIC inputs the guest routes to <see cref="IntxVector"/>: the PCI INTx lines of both VMMs (PIRQA–D at GSIs 16–19
    /// on actorvmm and kvmtool, PIRQA–H at 16–23 on QEMU's q35), so no firmware table is needed to find the line.
    /// </summary>
    public const int FirstPciGsi = 16;

    /// <summary>Last IOAPIC input routed (see <see cref="FirstPciGsi"/>).</summary>
    public const int LastPciGsi = 23;

    // Flat guest memory the guest uses besides its image (0x10000) and stack (below ProtectedModeImage.Stack).
    private const uint IdtAddress = 0x1000;
    private const int IdtEntrySize = 8;
    private const ushort IdtLimit = (256 * IdtEntrySize) - 1;
    private const uint IdtrAddress = 0x1800;
    private const uint FailuresAddress = 0x1900;
    private const uint IntxCountAddress = 0x1904;
    private const uint IntxStatusAddress = 0x1908;
    private const uint MsiCountAddress = 0x190C;
    private const uint MsiStatusAddress = 0x1910;

    // The source pattern: byte i is (i * step + base), which is never 0 for i < DmaLength, so untouched RAM never matches.
    private const int PatternStep = 7;
    private const int PatternBase = 3;

    // Bounds of the guest's busy waits, so a device that never answers ends in a BAD marker instead of a hang.
    private const uint PollLimit = 0x0100_0000;
    private const uint InterruptWaitLimit = 0x0400_0000;

    private const byte InterruptGatePresent32 = 0x8E; // present, DPL 0, 32-bit interrupt gate
    private const byte PicMasterData = 0x21;
    private const byte PicSlaveData = 0xA1;
    private const byte PicMaskAll = 0xFF;
    private const int CapabilityIdMask = 0xFF;
    private const int CapabilityNextShift = 8;
    private const uint CapabilityPointerMask = 0xFC;
    private const int MaxCapabilities = 48;
    private const int MessageControlShift = 16; // message control is the high word of the capability's first dword
    private const ushort CommandMemoryAndBusMaster = (ushort)(PciCommand.MemorySpace | PciCommand.BusMaster);

    // IOAPIC: IOREGSEL selects a register, IOWIN reads/writes it; redirection entry n is registers 0x10 + 2n (low), + 1 (high).
    private const uint IoApicRegisterSelect = (uint)X86MemoryMap.IoApicBase;
    private const uint IoApicWindow = (uint)X86MemoryMap.IoApicBase + 0x10;
    private const int IoApicRedirectionTable = 0x10;
    private const uint RedirectionLevelTriggered = 1u << 15;
    private const uint RedirectionActiveLow = 1u << 13;

    private const uint ApicEoi = (uint)(LocalApicRegisters.DefaultBase + LocalApicRegisters.EndOfInterrupt);
    private const uint ApicSpurious = (uint)(LocalApicRegisters.DefaultBase + LocalApicRegisters.SpuriousVector);
    private const uint ApicSoftwareEnabled = LocalApicRegisters.SoftwareEnable | LocalApicRegisters.SpuriousVectorReset;

    // MSI message address for APIC ID 0, physical destination.
    private const uint MsiAddressApic0 = (uint)LocalApicRegisters.DefaultBase;

    /// <summary>Assembles the guest; <paramref name="config"/> reaches the platform's CONFIG_ADDRESS and CONFIG_DATA.</summary>
    public static byte[] Build(PciConfigCycles config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return ProtectedModeImage.Build(asm => Body(asm, config));
    }

    /// <summary>The 4 ASCII characters of a tag (space-padded) as the dword the marker routine prints from its low byte up.</summary>
    public static uint PackTag(string tag)
    {
        ArgumentNullException.ThrowIfNull(tag);
        if (tag.Length is 0 or > sizeof(uint) || tag.Any(c => c is <= ' ' or > '~'))
        {
            throw new ArgumentException($"a marker tag is 1 to 4 printable characters, not '{tag}'", nameof(tag));
        }

        byte[] bytes = Encoding.ASCII.GetBytes(tag.PadRight(sizeof(uint)));
        return BitConverter.ToUInt32(bytes);
    }

    /// <summary>A checked marker's line as the guest prints it when the value is the expected one.</summary>
    public static string Marker(string tag, uint value) => $"{MarkerPrefix}{tag} {value:x8} {Passed}";

    private static void Body(Assembler asm, PciConfigCycles config)
    {
        var markerInfo = asm.CreateLabel();
        var markerCheck = asm.CreateLabel();
        var found = asm.CreateLabel();
        var start = asm.CreateLabel();
        asm.jmp(start);
        EmitMarkerRoutines(asm, markerInfo, markerCheck);
        asm.Label(ref start);
        asm.mov(__dword_ptr[FailuresAddress], 0);

        // 1. Find the device on bus 0 (EDI = its device number from here on).
        var notFound = asm.CreateLabel();
        config.Find(asm, EduRegisters.Ids, notFound);
        asm.jmp(found);
        asm.Label(ref notFound);
        asm.mov(edi, PciConfigCycles.AllOnes);
        asm.mov(ebx, edi);
        Check(asm, markerCheck, SlotTag, 0);
        asm.mov(bl, NotFoundStatus);
        ProtectedModeImage.EmitExitWithBl(asm);
        asm.Label(ref found);
        asm.mov(ebx, edi);
        Info(asm, markerInfo, SlotTag);

        // 2. BAR 0 placed with decoding off, then memory decoding and bus mastering (the device's DMA) on.
        config.Write16(asm, PciConfigCycles.CommandRegister, 0);
        asm.mov(ebx, Bar0Address);
        config.Write(asm, PciConfigCycles.Bar0Register);
        config.Write16(asm, PciConfigCycles.CommandRegister, CommandMemoryAndBusMaster);
        config.Read(asm, PciConfigCycles.Bar0Register);
        asm.and(eax, ~(EduRegisters.Bar0Size - 1));
        asm.mov(ebx, eax);
        Check(asm, markerCheck, Bar0Tag, Bar0Address);
        config.Read(asm, PciConfigCycles.InterruptLineRegister);
        asm.mov(ebx, eax);
        Info(asm, markerInfo, LineTag);

        // 3-5. Identification, liveness, factorial.
        asm.mov(ebx, __dword_ptr[Bar0Address + EduRegisters.Identification]);
        Check(asm, markerCheck, IdTag, EduRegisters.IdentificationValue);
        asm.mov(__dword_ptr[Bar0Address + EduRegisters.Liveness], LivenessValue);
        asm.mov(ebx, __dword_ptr[Bar0Address + EduRegisters.Liveness]);
        Check(asm, markerCheck, LivenessTag, ~LivenessValue);
        asm.mov(__dword_ptr[Bar0Address + EduRegisters.Factorial], FactorialInput);
        PollWhileSet(asm, EduRegisters.Status, EduRegisters.StatusComputing);
        asm.mov(ebx, __dword_ptr[Bar0Address + EduRegisters.Factorial]);
        Check(asm, markerCheck, FactorialTag, FactorialValue);

        // 6. DMA: the pattern from RAM into the device's buffer, then from the buffer into zeroed RAM; count equal bytes.
        var fill = asm.CreateLabel();
        asm.xor(ecx, ecx);
        asm.Label(ref fill);
        asm.imul(eax, ecx, PatternStep);
        asm.add(eax, PatternBase);
        asm.mov(__byte_ptr[ecx + DmaSourceAddress], al);
        asm.mov(__byte_ptr[ecx + DmaResultAddress], 0);
        asm.inc(ecx);
        asm.cmp(ecx, DmaLength);
        asm.jb(fill);
        Dma(asm, DmaSourceAddress, EduRegisters.DmaBuffer, EduRegisters.DmaStart);
        Dma(asm, EduRegisters.DmaBuffer, DmaResultAddress, EduRegisters.DmaStart | EduRegisters.DmaToRam);
        var compare = asm.CreateLabel();
        var differs = asm.CreateLabel();
        asm.xor(ebx, ebx);
        asm.xor(ecx, ecx);
        asm.Label(ref compare);
        asm.mov(al, __byte_ptr[ecx + DmaSourceAddress]);
        asm.cmp(al, __byte_ptr[ecx + DmaResultAddress]);
        asm.jne(differs);
        asm.inc(ebx);
        asm.Label(ref differs);
        asm.inc(ecx);
        asm.cmp(ecx, DmaLength);
        asm.jb(compare);
        Check(asm, markerCheck, DmaTag, DmaLength);

        // 7. Interrupt plumbing: 8259 masked, local APIC on, gates for both vectors, the PCI GSIs of the IOAPIC level-triggered.
        asm.mov(al, PicMaskAll);
        asm.@out(PicMasterData, al);
        asm.@out(PicSlaveData, al);
        asm.mov(__dword_ptr[ApicSpurious], ApicSoftwareEnabled);
        InstallHandler(asm, IntxVector, IntxCountAddress, IntxStatusAddress);
        InstallHandler(asm, MsiVector, MsiCountAddress, MsiStatusAddress);
        asm.mov(__word_ptr[IdtrAddress], IdtLimit);
        asm.mov(__dword_ptr[IdtrAddress + 2], IdtAddress);
        asm.lidt(__[IdtrAddress]);
        var route = asm.CreateLabel();
        asm.mov(ecx, FirstPciGsi);
        asm.Label(ref route);
        asm.lea(eax, __[(ecx * 2) + IoApicRedirectionTable + 1]);
        asm.mov(__dword_ptr[IoApicRegisterSelect], eax);
        asm.mov(__dword_ptr[IoApicWindow], 0); // destination: APIC ID 0
        asm.dec(eax);
        asm.mov(__dword_ptr[IoApicRegisterSelect], eax);
        asm.mov(__dword_ptr[IoApicWindow], IntxVector | RedirectionLevelTriggered | RedirectionActiveLow);
        asm.inc(ecx);
        asm.cmp(ecx, LastPciGsi);
        asm.jbe(route);

        // 8. INTx twice (the second needs the line unmasked again after the first EOI).
        asm.mov(__dword_ptr[IntxCountAddress], 0);
        RaiseAndWait(asm, IntxRaise, IntxCountAddress, 1);
        asm.mov(ebx, __dword_ptr[IntxStatusAddress]);
        Check(asm, markerCheck, IntxTag, IntxRaise);
        RaiseAndWait(asm, IntxRaiseAgain, IntxCountAddress, 2);
        asm.mov(ebx, __dword_ptr[IntxStatusAddress]);
        Check(asm, markerCheck, IntxAgainTag, IntxRaiseAgain);

        // 9. MSI: find the capability, aim it at APIC 0 with MsiVector, enable it (one vector), raise.
        var walk = asm.CreateLabel();
        var msiFound = asm.CreateLabel();
        var msiMissing = asm.CreateLabel();
        var address32 = asm.CreateLabel();
        var dataWritten = asm.CreateLabel();
        var msiDone = asm.CreateLabel();
        config.Read(asm, PciConfigCycles.CapabilitiesPointerRegister);
        asm.movzx(esi, al);
        asm.mov(ecx, MaxCapabilities);
        asm.Label(ref walk);
        asm.and(esi, CapabilityPointerMask);
        asm.jz(msiMissing);
        config.ReadDwordAtEsi(asm);
        asm.cmp(al, PciCapabilityId.Msi);
        asm.je(msiFound);
        asm.shr(eax, CapabilityNextShift);
        asm.and(eax, CapabilityIdMask);
        asm.mov(esi, eax);
        asm.dec(ecx);
        asm.jnz(walk);
        asm.Label(ref msiMissing);
        asm.xor(ebx, ebx);
        Check(asm, markerCheck, MsiTag, MsiRaise);
        asm.jmp(msiDone);
        asm.Label(ref msiFound);
        asm.push(eax); // the capability's first dword: ID, next, message control
        asm.mov(ebx, MsiAddressApic0);
        config.WriteDwordAtEsi(asm, MsiRegisters.AddressLow);
        asm.mov(ebx, MsiVector);
        asm.test(__dword_ptr[esp], (uint)MsiRegisters.Address64 << MessageControlShift);
        asm.jz(address32);
        config.Write16AtEsi(asm, MsiRegisters.Data64);
        asm.xor(ebx, ebx);
        config.WriteDwordAtEsi(asm, MsiRegisters.AddressHigh);
        asm.jmp(dataWritten);
        asm.Label(ref address32);
        config.Write16AtEsi(asm, MsiRegisters.Data32);
        asm.Label(ref dataWritten);
        asm.pop(ebx);
        asm.and(ebx, ~((uint)MsiRegisters.MultipleMessageEnableMask << MessageControlShift));
        asm.or(ebx, (uint)MsiRegisters.Enable << MessageControlShift);
        config.WriteDwordAtEsi(asm, 0);
        asm.mov(__dword_ptr[MsiCountAddress], 0);
        RaiseAndWait(asm, MsiRaise, MsiCountAddress, 1);
        asm.mov(ebx, __dword_ptr[MsiStatusAddress]);
        Check(asm, markerCheck, MsiTag, MsiRaise);
        asm.Label(ref msiDone);

        // 10. The number of failed steps, as a marker and as the exit status.
        asm.mov(ebx, __dword_ptr[FailuresAddress]);
        Check(asm, markerCheck, DoneTag, 0);
        asm.mov(ebx, __dword_ptr[FailuresAddress]);
        ProtectedModeImage.EmitExitWithBl(asm);
    }

    // markerInfo: prints "EDU TAG VALUE\n" (EAX = packed tag, EBX = value). markerCheck: the same with " ok" when EBX
    // equals ECX, else " BAD" (and one more failure counted). Both keep every register.
    private static void EmitMarkerRoutines(Assembler asm, Label markerInfo, Label markerCheck)
    {
        var head = asm.CreateLabel();
        var tagLoop = asm.CreateLabel();
        var tagSpace = asm.CreateLabel();
        var hexLoop = asm.CreateLabel();
        var digit = asm.CreateLabel();
        var newline = asm.CreateLabel();
        var bad = asm.CreateLabel();
        const int savedEcx = 24; // pushad: EDI ESI EBP ESP EBX EDX ECX EAX from [esp] up

        asm.Label(ref markerInfo);
        asm.pushad();
        asm.call(head);
        asm.jmp(newline);

        asm.Label(ref markerCheck);
        asm.pushad();
        asm.call(head);
        asm.cmp(ebx, __dword_ptr[esp + savedEcx]);
        asm.jne(bad);
        Put(asm, " " + Passed);
        asm.jmp(newline);
        asm.Label(ref bad);
        asm.inc(__dword_ptr[FailuresAddress]);
        Put(asm, " " + Failed);
        asm.Label(ref newline);
        Put(asm, "\n");
        asm.popad();
        asm.ret();

        // head: "EDU " + tag (spaces skipped) + " " + EBX as 8 hex digits; DX = COM1 after it.
        asm.Label(ref head);
        asm.mov(esi, eax);
        asm.mov(dx, Guests.Com1);
        Put(asm, MarkerPrefix);
        asm.mov(ecx, sizeof(uint));
        asm.Label(ref tagLoop);
        asm.mov(eax, esi);
        asm.cmp(al, (byte)' ');
        asm.je(tagSpace);
        asm.@out(dx, al);
        asm.Label(ref tagSpace);
        asm.shr(esi, 8);
        asm.loop(tagLoop);
        Put(asm, " ");
        asm.mov(ecx, 2 * sizeof(uint));
        asm.Label(ref hexLoop);
        asm.rol(ebx, 4);
        asm.mov(al, bl);
        asm.and(al, 0xF);
        asm.cmp(al, 10);
        asm.jb(digit);
        asm.add(al, (byte)('a' - '0' - 10));
        asm.Label(ref digit);
        asm.add(al, (byte)'0');
        asm.@out(dx, al);
        asm.loop(hexLoop);
        asm.ret();
    }

    // Writes `text` to COM1 (DX must hold COM1).
    private static void Put(Assembler asm, string text)
    {
        asm.mov(dx, Guests.Com1);
        foreach (char c in text)
        {
            asm.mov(al, (byte)c);
            asm.@out(dx, al);
        }
    }

    private static void Info(Assembler asm, Label markerInfo, string tag)
    {
        asm.mov(eax, PackTag(tag));
        asm.call(markerInfo);
    }

    private static void Check(Assembler asm, Label markerCheck, string tag, uint expected)
    {
        asm.mov(eax, PackTag(tag));
        asm.mov(ecx, expected);
        asm.call(markerCheck);
    }

    // Waits (bounded) until the BAR 0 register at `register` has `bit` clear.
    private static void PollWhileSet(Assembler asm, int register, uint bit)
    {
        var poll = asm.CreateLabel();
        var done = asm.CreateLabel();
        asm.mov(ecx, PollLimit);
        asm.Label(ref poll);
        asm.test(__dword_ptr[Bar0Address + register], bit);
        asm.jz(done);
        asm.pause();
        asm.dec(ecx);
        asm.jnz(poll);
        asm.Label(ref done);
    }

    // One DMA transfer of DmaLength bytes, waited for (bounded).
    private static void Dma(Assembler asm, uint source, uint destination, uint command)
    {
        asm.mov(__dword_ptr[Bar0Address + EduRegisters.DmaSource], source);
        asm.mov(__dword_ptr[Bar0Address + EduRegisters.DmaDestination], destination);
        asm.mov(__dword_ptr[Bar0Address + EduRegisters.DmaCount], DmaLength);
        asm.mov(__dword_ptr[Bar0Address + EduRegisters.DmaCommand], command);
        PollWhileSet(asm, EduRegisters.DmaCommand, EduRegisters.DmaStart);
    }

    // Raises the device's interrupt with `value` and waits (bounded, interrupts on) until the count at `counter` reaches `count`.
    private static void RaiseAndWait(Assembler asm, uint value, uint counter, uint count)
    {
        var wait = asm.CreateLabel();
        var done = asm.CreateLabel();
        asm.sti();
        asm.mov(__dword_ptr[Bar0Address + EduRegisters.InterruptRaise], value);
        asm.mov(ecx, InterruptWaitLimit);
        asm.Label(ref wait);
        asm.cmp(__dword_ptr[counter], count);
        asm.jae(done);
        asm.pause();
        asm.dec(ecx);
        asm.jnz(wait);
        asm.Label(ref done);
        asm.cli();
    }

    // Emits a handler for `vector` and its IDT gate. The handler records the interrupt status, acknowledges it at the
    // device (which drops INTx), sends the local APIC an EOI and counts. Its address comes from the CALL over it (the
    // return address pushed is the handler's first instruction, an offset in the code segment).
    private static void InstallHandler(Assembler asm, byte vector, uint counter, uint status)
    {
        var gate = asm.CreateLabel();
        asm.call(gate);
        asm.push(eax);
        asm.mov(eax, __dword_ptr[Bar0Address + EduRegisters.InterruptStatus]);
        asm.mov(__dword_ptr[status], eax);
        asm.mov(__dword_ptr[Bar0Address + EduRegisters.InterruptAcknowledge], eax);
        asm.mov(__dword_ptr[ApicEoi], 0);
        asm.inc(__dword_ptr[counter]);
        asm.pop(eax);
        asm.iretd();
        asm.Label(ref gate);
        asm.pop(eax);
        uint entry = IdtAddress + (vector * (uint)IdtEntrySize);
        asm.mov(edx, eax);
        asm.and(edx, 0xFFFF);
        asm.or(edx, (uint)ProtectedModeImage.Code32Selector << 16);
        asm.mov(__dword_ptr[entry], edx);
        asm.and(eax, 0xFFFF_0000);
        asm.or(eax, (uint)InterruptGatePresent32 << 8);
        asm.mov(__dword_ptr[entry + 4], eax);
    }
}
