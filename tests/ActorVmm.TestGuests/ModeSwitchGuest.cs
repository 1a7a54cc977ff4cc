using System.Buffers.Binary;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.TestGuests;

/// <summary>
/// A guest that switches real → 32-bit protected → 64-bit long mode with 4-level paging, reporting each
/// stage on <see cref="IoGuests.ResultPort"/>, then takes #GP and #PF in long mode (handlers report the
/// vector, error code and CR2) and reads back a value through an aliased 2 MiB page.
/// </summary>
public static class ModeSwitchGuest
{
    /// <summary>Reported once in 32-bit protected mode.</summary>
    public const uint MarkerProtected = 0x0032_0032;

    /// <summary>Reported by the 32-bit IDT handler of <see cref="Vector32"/>.</summary>
    public const uint MarkerInt32 = 0x0032_0130;

    /// <summary>The software interrupt the guest raises in 32-bit protected mode (through an 8-byte IDT gate).</summary>
    public const byte Vector32 = 0x30;

    /// <summary>The 32-bit code selector (its value is also what the 32-bit interrupt frame holds for CS).</summary>
    public const ushort Code32Selector = 0x08;

    /// <summary>Reported once in 64-bit long mode.</summary>
    public const uint MarkerLong = 0x0064_0064;

    /// <summary>The selector the guest loads into DS to cause #GP (beyond the GDT limit).</summary>
    public const ushort BadSelector = 0x80;

    /// <summary>The linear address the guest reads to cause #PF (not mapped).</summary>
    public const uint UnmappedAddress = 0x4000_0000;

    /// <summary>Value written through the alias mapping and read back through the identity mapping.</summary>
    public const uint AliasValue = 0x0A11_A5ED;

    /// <summary>Linear base of the 2 MiB page that aliases guest-physical 0.</summary>
    public const uint AliasBase = 0x20_0000;

    /// <summary>Guest-physical address of the aliased dword.</summary>
    public const uint AliasTarget = 0x1_9000;

    /// <summary>Guest RAM the guest needs.</summary>
    public const ulong MemorySize = 1024 * 1024;

    private const int Code32Offset = 0x100;
    private const int Code64Offset = 0x200;
    private const int GdtOffset = 0x800;
    private const int GdtrOffset = 0x830;
    private const int IdtrOffset = 0x840;
    private const int ResumeOffset = 0x850;
    private const int IdtOffset = 0x900;
    private const int Idtr32Offset = 0x860;
    private const int Idt32Offset = 0xC00;
    private const int Idt32EntrySize = 8;
    private const int FrameCsOffset = 4;
    private const int Pml4Offset = 0x1000;
    private const int PdptOffset = 0x2000;
    private const int PdOffset = 0x3000;
    private const int ImageSize = 0x4000;
    private const ulong ImageBase = GuestAssembler.LoadAddress;

    private const ushort Data32Selector = 0x10;
    private const ushort Code64Selector = 0x18;
    private const ushort Data64Selector = 0x20;

    // Descriptors: 32-bit code/data with base 0x10000 (the image), 64-bit code, flat data.
    private const ulong Code32Descriptor = 0x00CF_9A01_0000_FFFF;
    private const ulong Data32Descriptor = 0x00CF_9201_0000_FFFF;
    private const ulong Code64Descriptor = 0x00AF_9A00_0000_FFFF;
    private const ulong DataFlatDescriptor = 0x00CF_9200_0000_FFFF;

    private const ulong PagePresentWritable = 0x3;
    private const ulong PageLarge = 0x80;
    private const uint Cr0ProtectionEnable = 0x1;
    private const uint Cr0Paging = 0x8000_0000;
    private const uint Cr4Pae = 0x20;
    private const uint MsrEfer = 0xC000_0080;
    private const uint EferLme = 0x100;
    private const uint Stack32 = 0x7000;
    private const uint Stack64 = 0x1_8000;
    private const byte GpVector = 13;
    private const byte PfVector = 14;
    private const int IdtEntrySize = 16;
    /// <summary>Present, DPL 0, 32/64-bit interrupt gate (type 0xE); the same byte in 8- and 16-byte gates.</summary>
    private const byte InterruptGatePresent = 0x8E;

    /// <summary>Builds the image.</summary>
    public static byte[] Build()
    {
        byte[] image = new byte[ImageSize];
        byte[] code16 = GuestAssembler.Assemble16(asm =>
        {
            asm.cli();
            asm.lgdt(__[GdtrOffset]);
            asm.mov(eax, cr0);
            asm.or(eax, Cr0ProtectionEnable);
            asm.mov(cr0, eax);
            asm.jmp(Code32Selector, Code32Offset);
        });
        code16.CopyTo(image, 0);

        byte[] code32 = GuestAssembler.AssembleWithLabels(32, Code32Offset, Build32, out var labels32);
        if (code32.Length > Code64Offset - Code32Offset)
        {
            throw new InvalidOperationException("32-bit part too large");
        }

        code32.CopyTo(image, Code32Offset);

        byte[] code64 = GuestAssembler.AssembleWithLabels(64, ImageBase + Code64Offset, Build64, out var labels);
        if (code64.Length > GdtOffset - Code64Offset)
        {
            throw new InvalidOperationException("64-bit part too large");
        }

        code64.CopyTo(image, Code64Offset);

        var span = image.AsSpan();
        ulong[] gdt = [0, Code32Descriptor, Data32Descriptor, Code64Descriptor, DataFlatDescriptor];
        for (int i = 0; i < gdt.Length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(span[(GdtOffset + (i * 8))..], gdt[i]);
        }

        BinaryPrimitives.WriteUInt16LittleEndian(span[GdtrOffset..], (ushort)((gdt.Length * 8) - 1));
        BinaryPrimitives.WriteUInt32LittleEndian(span[(GdtrOffset + 2)..], (uint)(ImageBase + GdtOffset));
        BinaryPrimitives.WriteUInt16LittleEndian(span[IdtrOffset..], (32 * IdtEntrySize) - 1);
        BinaryPrimitives.WriteUInt64LittleEndian(span[(IdtrOffset + 2)..], ImageBase + IdtOffset);
        WriteGate(span, GpVector, labels["gp"]);
        BinaryPrimitives.WriteUInt16LittleEndian(span[Idtr32Offset..], (Vector32 * Idt32EntrySize) + Idt32EntrySize - 1);
        BinaryPrimitives.WriteUInt32LittleEndian(span[(Idtr32Offset + 2)..], (uint)(ImageBase + Idt32Offset));
        ulong handler32 = labels32["int32"];
        ulong gate32 = (handler32 & 0xFFFF) | ((ulong)Code32Selector << 16) | ((ulong)InterruptGatePresent << 40) | ((handler32 >> 16) << 48);
        BinaryPrimitives.WriteUInt64LittleEndian(span[(Idt32Offset + (Vector32 * Idt32EntrySize))..], gate32);
        WriteGate(span, PfVector, labels["pf"]);

        // PML4[0] → PDPT; PDPT[0] → PD; PD[0] identity-maps 0..2 MiB, PD[1] maps 2..4 MiB onto 0..2 MiB too.
        BinaryPrimitives.WriteUInt64LittleEndian(span[Pml4Offset..], ImageBase + PdptOffset + PagePresentWritable);
        BinaryPrimitives.WriteUInt64LittleEndian(span[PdptOffset..], ImageBase + PdOffset + PagePresentWritable);
        BinaryPrimitives.WriteUInt64LittleEndian(span[PdOffset..], PagePresentWritable | PageLarge);
        BinaryPrimitives.WriteUInt64LittleEndian(span[(PdOffset + 8)..], PagePresentWritable | PageLarge);
        return image;
    }

    private static Label[] Build32(Assembler asm32, Func<string, ulong> address)
    {
        var handler = asm32.CreateLabel("int32");
        asm32.mov(ax, Data32Selector);
        asm32.mov(ds, ax);
        asm32.mov(es, ax);
        asm32.mov(ss, ax);
        asm32.mov(esp, Stack32);
        asm32.mov(dx, IoGuests.ResultPort);
        asm32.mov(eax, MarkerProtected);
        asm32.@out(dx, eax);
        asm32.lidt(__[Idtr32Offset]);
        asm32.@int(Vector32);
        asm32.mov(eax, cr4);
        asm32.or(eax, Cr4Pae);
        asm32.mov(cr4, eax);
        asm32.mov(eax, (uint)(ImageBase + Pml4Offset));
        asm32.mov(cr3, eax);
        asm32.mov(ecx, MsrEfer);
        asm32.rdmsr();
        asm32.or(eax, EferLme);
        asm32.wrmsr();
        asm32.mov(eax, cr0);
        asm32.or(eax, Cr0Paging);
        asm32.mov(cr0, eax);
        asm32.jmp(Code64Selector, (uint)(ImageBase + Code64Offset));

        // The 32-bit handler reports its marker and the CS saved in its frame, then IRETDs.
        asm32.Label(ref handler);
        asm32.mov(eax, MarkerInt32);
        asm32.@out(dx, eax);
        asm32.mov(eax, __dword_ptr[esp + FrameCsOffset]);
        asm32.@out(dx, eax);
        asm32.iretd();
        _ = address;
        return [handler];
    }

    private static Label[] Build64(Assembler asm, Func<string, ulong> address)
    {
        var gp = asm.CreateLabel("gp");
        var pf = asm.CreateLabel("pf");
        var afterGp = asm.CreateLabel();
        var afterPf = asm.CreateLabel();
        asm.mov(ax, Data64Selector);
        asm.mov(ds, ax);
        asm.mov(es, ax);
        asm.mov(ss, ax);
        asm.mov(rsp, Stack64);
        asm.mov(rax, ImageBase + IdtrOffset);
        asm.lidt(__[rax]);
        asm.mov(dx, IoGuests.ResultPort);
        asm.mov(eax, MarkerLong);
        asm.@out(dx, eax);

        asm.lea(rax, __[afterGp]);
        asm.mov(__qword_ptr[ImageBase + ResumeOffset], rax);
        asm.mov(ax, BadSelector);
        asm.mov(ds, ax);
        asm.Label(ref afterGp);

        asm.lea(rax, __[afterPf]);
        asm.mov(__qword_ptr[ImageBase + ResumeOffset], rax);
        asm.mov(rax, (ulong)UnmappedAddress);
        asm.mov(eax, __dword_ptr[rax]);
        asm.Label(ref afterPf);

        asm.mov(__dword_ptr[AliasBase + AliasTarget], AliasValue);
        asm.mov(eax, __dword_ptr[AliasTarget]);
        asm.mov(dx, IoGuests.ResultPort);
        asm.@out(dx, eax);
        GuestAssembler.EmitExit(asm, 0);

        asm.Label(ref gp);
        EmitHandler(asm, GpVector, reportCr2: false);
        asm.Label(ref pf);
        EmitHandler(asm, PfVector, reportCr2: true);
        _ = address;
        return [gp, pf];
    }

    /// <summary>Reports vector, error code (and CR2), then resumes at the address the main code stored.</summary>
    private static void EmitHandler(Assembler asm, byte vector, bool reportCr2)
    {
        asm.mov(dx, IoGuests.ResultPort);
        asm.mov(eax, (uint)vector);
        asm.@out(dx, eax);
        asm.pop(rax);
        asm.@out(dx, eax);
        if (reportCr2)
        {
            asm.mov(rax, cr2);
            asm.@out(dx, eax);
        }

        asm.mov(ax, Data64Selector);
        asm.mov(ds, ax);
        asm.mov(rax, __qword_ptr[ImageBase + ResumeOffset]);
        asm.mov(__qword_ptr[rsp], rax);
        asm.iretq();
    }

    private static void WriteGate(Span<byte> image, byte vector, ulong handler)
    {
        var gate = image[(IdtOffset + (vector * IdtEntrySize))..];
        BinaryPrimitives.WriteUInt16LittleEndian(gate, (ushort)handler);
        BinaryPrimitives.WriteUInt16LittleEndian(gate[2..], Code64Selector);
        gate[4] = 0;
        gate[5] = InterruptGatePresent;
        BinaryPrimitives.WriteUInt16LittleEndian(gate[6..], (ushort)(handler >> 16));
        BinaryPrimitives.WriteUInt32LittleEndian(gate[8..], (uint)(handler >> 32));
    }
}
