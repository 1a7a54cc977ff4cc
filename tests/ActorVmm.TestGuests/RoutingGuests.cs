using System.Buffers.Binary;
using ActorVmm.Machine.Interrupts;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.TestGuests;

/// <summary>
/// Guests for interrupt routing and doorbells, run unchanged on both backends: a two-vCPU guest
/// that takes MSIs in 32-bit protected mode through its local APIC, a guest that counts a
/// level-triggered 8259 interrupt, and a guest that rings port and MMIO doorbells.
/// </summary>
public static class RoutingGuests
{
    /// <summary>Port the guests report on (32-bit writes in the MSI guest, 16-bit in the others).</summary>
    public const ushort ResultPort = IoGuests.ResultPort;

    /// <summary>Port the level guest reads to ask whether the host is done (non-zero: done).</summary>
    public const ushort QueryPort = IoGuests.ResultPort + 4;

    // ---- MSI guest -------------------------------------------------------------------------

    /// <summary>The vector the MSI guest installs its handler for.</summary>
    public const byte MsiVector = 0x41;

    /// <summary>Reported (| APIC ID) by each vCPU of the MSI guest each time it is about to halt with interrupts on.</summary>
    public const uint MsiReadyMarker = 0x100;

    /// <summary>Reported (| APIC ID read in the handler) by the MSI guest's handler.</summary>
    public const uint MsiHandledMarker = 0x200;

    /// <summary>Guest RAM the MSI guest needs (per-vCPU stacks below <see cref="MsiStackTop"/>).</summary>
    public const ulong MsiMemorySize = 0x8_0000;

    /// <summary>Linear top of vCPU 0's stack; vCPU n's is 4 KiB × n lower.</summary>
    public const uint MsiStackTop = 0x2_0000;

    /// <summary>SIPI vector the boot vCPU sends: start page 0x10 = the image at 0x10000, CS:IP = 0x1000:0000.</summary>
    public const byte StartupVector = (byte)(GuestAssembler.LoadAddress >> 12);

    private const int Code32Offset = 0x100;
    private const int GdtOffset = 0x800;
    private const int GdtrOffset = 0x830;
    private const int IdtrOffset = 0x840;
    private const int IdtOffset = 0x1000;
    private const int IdtEntries = 256;
    private const int IdtEntrySize = 8;
    private const int MsiImageSize = IdtOffset + (IdtEntries * IdtEntrySize);
    private const ushort Code32Selector = 0x08;
    private const ushort DataFlatSelector = 0x10;
    // 32-bit code with base 0x10000 (so offsets are image offsets), flat 4 GiB data; accessed bits set.
    private const ulong Code32Descriptor = 0x00CF_9B01_0000_FFFF;
    private const ulong DataFlatDescriptor = 0x00CF_9300_0000_FFFF;
    private const uint Cr0ProtectionEnable = 0x1;
    private const byte InterruptGatePresent = 0x8E; // present, DPL 0, 32-bit interrupt gate
    private const int StackShift = 12;
    private const byte PicMasterData = 0x21;
    private const byte PicSlaveData = 0xA1;
    private const byte PicMaskAll = 0xFF;

    // Local APIC registers, absolute at the reset base.
    private const uint ApicId = (uint)(LocalApicRegisters.DefaultBase + LocalApicRegisters.Id);
    private const uint ApicEoi = (uint)(LocalApicRegisters.DefaultBase + LocalApicRegisters.EndOfInterrupt);
    private const uint ApicSpurious = (uint)(LocalApicRegisters.DefaultBase + LocalApicRegisters.SpuriousVector);
    private const uint ApicIcrLow = (uint)(LocalApicRegisters.DefaultBase + LocalApicRegisters.InterruptCommandLow);
    private const uint ApicIcrHigh = (uint)(LocalApicRegisters.DefaultBase + LocalApicRegisters.InterruptCommandHigh);
    private const int ApicIdShift = LocalApicRegisters.IdShift;
    private const uint SpuriousEnableVectorFf = LocalApicRegisters.SoftwareEnable | LocalApicRegisters.SpuriousVectorReset;
    private const uint IcrInitAssert = LocalApicRegisters.DeliveryModeInit | LocalApicRegisters.IcrLevelAssert;
    private const uint IcrStartUp = LocalApicRegisters.DeliveryModeStartUp | LocalApicRegisters.IcrLevelAssert;
    private const uint ApplicationProcessor = 1;

    /// <summary>
    /// Every vCPU enters real mode at the image start, switches to 32-bit protected mode with flat
    /// data, reads its APIC ID, takes a stack of its own, software-enables its APIC (SVR) and loads
    /// an IDT whose only gate is <see cref="MsiVector"/>. The boot vCPU masks the 8259 and sends INIT
    /// and a start-up IPI (vector <see cref="StartupVector"/>) to APIC 1, which starts the AP at the image on
    /// both backends (their APs wait for them). Each vCPU then reports
    /// <see cref="MsiReadyMarker"/> | ID and halts with interrupts on, reporting again after every wake-up. The handler reports
    /// <see cref="MsiHandledMarker"/> | the APIC ID it reads, EOIs and goes back to waiting.
    /// </summary>
    public static byte[] MsiTarget()
    {
        byte[] image = new byte[MsiImageSize];
        GuestAssembler.Assemble16(asm =>
        {
            asm.cli();
            asm.mov(ax, cs);
            asm.mov(ds, ax);
            asm.lgdt(__[GdtrOffset]);
            asm.mov(eax, cr0);
            asm.or(eax, Cr0ProtectionEnable);
            asm.mov(cr0, eax);
            asm.jmp(Code32Selector, Code32Offset);
        }).CopyTo(image, 0);

        byte[] code32 = GuestAssembler.AssembleWithLabels(32, Code32Offset, BuildMsi32, out var labels);
        if (Code32Offset + code32.Length > GdtOffset)
        {
            throw new InvalidOperationException("32-bit part too large");
        }

        code32.CopyTo(image, Code32Offset);
        var span = image.AsSpan();
        ulong[] gdt = [0, Code32Descriptor, DataFlatDescriptor];
        for (int i = 0; i < gdt.Length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(span[(GdtOffset + (i * 8))..], gdt[i]);
        }

        BinaryPrimitives.WriteUInt16LittleEndian(span[GdtrOffset..], (ushort)((gdt.Length * 8) - 1));
        BinaryPrimitives.WriteUInt32LittleEndian(span[(GdtrOffset + 2)..], (uint)(GuestAssembler.LoadAddress + GdtOffset));
        BinaryPrimitives.WriteUInt16LittleEndian(span[IdtrOffset..], (IdtEntries * IdtEntrySize) - 1);
        BinaryPrimitives.WriteUInt32LittleEndian(span[(IdtrOffset + 2)..], (uint)(GuestAssembler.LoadAddress + IdtOffset));
        ulong handler = labels["handler"];
        ulong gate = (handler & 0xFFFF) | ((ulong)Code32Selector << 16) | ((ulong)InterruptGatePresent << 40) | ((handler >> 16) << 48);
        BinaryPrimitives.WriteUInt64LittleEndian(span[(IdtOffset + (MsiVector * IdtEntrySize))..], gate);
        return image;
    }

    private static Label[] BuildMsi32(Assembler asm, Func<string, ulong> address)
    {
        _ = address;
        var handler = asm.CreateLabel("handler");
        var ready = asm.CreateLabel();
        var wait = asm.CreateLabel();
        asm.mov(ax, DataFlatSelector);
        asm.mov(ds, ax);
        asm.mov(es, ax);
        asm.mov(ss, ax);
        EmitReadApicId(asm);
        EmitOwnStack(asm);
        asm.lidt(__[(uint)(GuestAssembler.LoadAddress + IdtrOffset)]);
        asm.mov(__dword_ptr[ApicSpurious], SpuriousEnableVectorFf);
        asm.test(ebx, ebx);
        asm.jnz(ready);
        asm.mov(al, PicMaskAll);
        asm.@out(PicMasterData, al);
        asm.@out(PicSlaveData, al);
        asm.mov(__dword_ptr[ApicIcrHigh], ApplicationProcessor << ApicIdShift);
        asm.mov(__dword_ptr[ApicIcrLow], IcrInitAssert);
        asm.mov(__dword_ptr[ApicIcrHigh], ApplicationProcessor << ApicIdShift);
        asm.mov(__dword_ptr[ApicIcrLow], IcrStartUp | StartupVector);

        // Every pass reports ready before halting, so the host knows the vCPU waits with interrupts on.
        asm.Label(ref ready);
        asm.mov(eax, ebx);
        asm.or(eax, MsiReadyMarker);
        asm.mov(dx, ResultPort);
        asm.sti();
        asm.Label(ref wait);
        asm.@out(dx, eax);
        asm.hlt();
        asm.jmp(wait);

        // The handler reports, EOIs and goes back to the (stateless) wait loop on a fresh stack instead of
        // returning: no IRET, which the KVM-PVM /dev/kvm of the development machine cannot execute in 32-bit mode.
        asm.Label(ref handler);
        EmitReadApicId(asm);
        asm.or(eax, MsiHandledMarker);
        asm.mov(dx, ResultPort);
        asm.@out(dx, eax);
        asm.mov(__dword_ptr[ApicEoi], 0);
        EmitOwnStack(asm);
        asm.jmp(ready);
        return [handler];
    }

    /// <summary>EAX = EBX = this vCPU's APIC ID, read from its local APIC.</summary>
    private static void EmitReadApicId(Assembler asm)
    {
        asm.mov(eax, __dword_ptr[ApicId]);
        asm.shr(eax, ApicIdShift);
        asm.mov(ebx, eax);
    }

    /// <summary>ESP = <see cref="MsiStackTop"/> − 4 KiB × APIC ID (in EBX).</summary>
    private static void EmitOwnStack(Assembler asm)
    {
        asm.mov(esp, ebx);
        asm.shl(esp, StackShift);
        asm.neg(esp);
        asm.add(esp, MsiStackTop);
    }

    // ---- Shared level-triggered IRQ guest ------------------------------------------------

    /// <summary>The ISA IRQ the level guest programs as level-triggered.</summary>
    public const int LevelIrq = 5;

    /// <summary>Vector base the level guest gives the master 8259.</summary>
    public const byte LevelVectorBase = 0x20;

    /// <summary>Reported once the level guest waits with interrupts on.</summary>
    public const ushort LevelReadyMarker = 0x0301;

    /// <summary>Reported by each run of the level guest's handler.</summary>
    public const ushort LevelHandledMarker = 0x0302;

    /// <summary>Reported (| the number of interrupts taken) when the host said it is done.</summary>
    public const ushort LevelDoneMarker = 0x0400;

    /// <summary>Iterations of the wait loop between two queries: more than one emulator instruction batch.</summary>
    public const ushort LevelSpinIterations = 0x4000;

    private const byte PicMasterCommand = 0x20;
    private const ushort ElcrMaster = 0x4D0;
    private const byte Icw1EdgeCascadeIcw4 = 0x11;
    private const byte Icw3SlaveOnIrq2 = 0x04;
    private const byte Icw4X86Mode = 0x01;
    private const byte NonSpecificEoi = 0x20;
    private const int IvtEntrySize = 4;

    /// <summary>
    /// Real mode: installs an IVT handler for IRQ <see cref="LevelIrq"/>, initialises the master 8259 with
    /// only that IRQ unmasked and marks it level-triggered in the ELCR, reports ready and waits with
    /// interrupts on, asking <see cref="QueryPort"/> after each spin whether the host is done; then reports
    /// <see cref="LevelDoneMarker"/> | the interrupts its handler counted, and exits. The handler counts,
    /// reports <see cref="LevelHandledMarker"/>, sends EOI (with the line still high, a level input
    /// interrupts again) and returns.
    /// </summary>
    public static byte[] SharedLevelIrq() =>
        GuestAssembler.Assemble16WithLabels(
            (asm, address) =>
            {
                var handler = asm.CreateLabel("handler");
                var wait = asm.CreateLabel();
                var spin = asm.CreateLabel();
                ushort ivt = (LevelVectorBase + LevelIrq) * IvtEntrySize;
                asm.cli();
                asm.xor(ax, ax);
                asm.mov(es, ax);
                asm.mov(__word_ptr.es[ivt], address("handler"));
                asm.mov(ax, cs);
                asm.mov(__word_ptr.es[ivt + 2], ax);
                foreach (var (port, value) in new[] { (PicMasterCommand, Icw1EdgeCascadeIcw4), (PicMasterData, LevelVectorBase), (PicMasterData, Icw3SlaveOnIrq2), (PicMasterData, Icw4X86Mode), (PicMasterData, unchecked((byte)~(1 << LevelIrq))) })
                {
                    asm.mov(al, value);
                    asm.@out(port, al);
                }

                asm.mov(dx, ElcrMaster);
                asm.mov(al, 1 << LevelIrq);
                asm.@out(dx, al);
                asm.mov(__byte_ptr[GuestAssembler.DataOffset], 0);
                asm.mov(dx, ResultPort);
                asm.mov(ax, LevelReadyMarker);
                asm.@out(dx, ax);
                asm.sti();
                asm.nop();
                asm.Label(ref wait);
                asm.mov(cx, LevelSpinIterations);
                asm.Label(ref spin);
                asm.loop(spin);
                asm.mov(dx, QueryPort);
                asm.@in(al, dx);
                asm.test(al, al);
                asm.jz(wait);
                asm.cli();
                asm.xor(ax, ax);
                asm.mov(al, __byte_ptr[GuestAssembler.DataOffset]);
                asm.or(ax, LevelDoneMarker);
                asm.mov(dx, ResultPort);
                asm.@out(dx, ax);
                GuestAssembler.EmitExit(asm, 0);

                asm.Label(ref handler);
                asm.push(ax);
                asm.push(dx);
                asm.inc(__byte_ptr[GuestAssembler.DataOffset]);
                asm.mov(dx, ResultPort);
                asm.mov(ax, LevelHandledMarker);
                asm.@out(dx, ax);
                asm.mov(al, NonSpecificEoi);
                asm.@out(PicMasterCommand, al);
                asm.pop(dx);
                asm.pop(ax);
                asm.iret();
                return [handler];
            },
            new byte[1]);

    // ---- Doorbell guest -----------------------------------------------------------------

    /// <summary>The port doorbell: a 2-byte write of <see cref="NotifyValue"/> here rings it.</summary>
    public const ushort NotifyPort = 0x620;

    /// <summary>The value the port doorbell matches (a virtio queue index, say).</summary>
    public const ushort NotifyValue = 0x0003;

    /// <summary>A value written to the notify port that must not ring it (it reaches the trap table).</summary>
    public const ushort OtherValue = 0x0007;

    /// <summary>Offset of the MMIO doorbell inside the real-mode MMIO window (<see cref="IoGuests.MmioBase"/>).</summary>
    public const ushort NotifyMmioOffset = 0x40;

    /// <summary>The MMIO doorbell's address: any 4-byte write there rings it.</summary>
    public const ulong NotifyMmioAddress = IoGuests.MmioBase + NotifyMmioOffset;

    /// <summary>The value the guest writes to the MMIO doorbell.</summary>
    public const uint MmioNotifyValue = 0x1234_5678;

    /// <summary>Writes <see cref="NotifyValue"/> then <see cref="OtherValue"/> to <see cref="NotifyPort"/>, <see cref="MmioNotifyValue"/> to <see cref="NotifyMmioAddress"/>, and exits.</summary>
    public static byte[] Doorbells() =>
        GuestAssembler.Assemble16(asm =>
        {
            asm.mov(dx, NotifyPort);
            asm.mov(ax, NotifyValue);
            asm.@out(dx, ax);
            asm.mov(ax, OtherValue);
            asm.@out(dx, ax);
            asm.mov(ax, IoGuests.MmioSegment);
            asm.mov(es, ax);
            asm.mov(__dword_ptr.es[NotifyMmioOffset], MmioNotifyValue);
            GuestAssembler.EmitExit(asm, 0);
        });
}
