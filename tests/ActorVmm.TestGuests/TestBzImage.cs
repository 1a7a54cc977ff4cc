using System.Buffers.Binary;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.TestGuests;

/// <summary>
/// A synthetic Linux bzImage for loader tests: a setup header laid out as Documentation/arch/x86/boot.rst says, and a
/// protected-mode part whose 64-bit entry (offset 0x200) reports what a kernel finds at startup_64 on
/// <see cref="IoGuests.ResultPort"/> (32-bit writes, in <see cref="Report"/> order) and exits with status 0.
/// </summary>
public static class TestBzImage
{
    // Setup header offsets in the file (boot.rst, "The Real-Mode Kernel Header"); the Machine tests check them
    // against struct setup_header.
    public const int SetupSectsOffset = 0x1F1;
    public const int SyssizeOffset = 0x1F4;
    public const int BootFlagOffset = 0x1FE;
    public const int JumpOffset = 0x200;
    public const int HeaderOffset = 0x202;
    public const int VersionOffset = 0x206;
    public const int TypeOfLoaderOffset = 0x210;
    public const int LoadFlagsOffset = 0x211;
    public const int Code32StartOffset = 0x214;
    public const int RamdiskImageOffset = 0x218;
    public const int RamdiskSizeOffset = 0x21C;
    public const int CmdLinePtrOffset = 0x228;
    public const int InitrdAddrMaxOffset = 0x22C;
    public const int KernelAlignmentOffset = 0x230;
    public const int RelocatableKernelOffset = 0x234;
    public const int XLoadFlagsOffset = 0x236;
    public const int CmdlineSizeOffset = 0x238;
    public const int PrefAddressOffset = 0x258;
    public const int InitSizeOffset = 0x260;

    /// <summary>Zero-page offset of e820_entries (not part of the header).</summary>
    public const int E820EntriesOffset = 0x1E8;

    /// <summary>End of a protocol 2.15 header (after kernel_info_offset).</summary>
    public const int HeaderEnd215 = 0x26C;

    public const uint HdrS = 0x5372_6448;
    public const ushort BootFlag = 0xAA55;
    public const ushort Protocol215 = 0x020F;
    public const byte LoadedHigh = 0x01;
    public const ushort XlfKernel64 = 0x01;
    public const ushort XlfCanBeLoadedAbove4G = 0x02;
    public const int SectorSize = 512;
    public const ulong Entry64Offset = 0x200;

    /// <summary>What the payload writes to <see cref="IoGuests.ResultPort"/>, in order.</summary>
    public enum Report
    {
        /// <summary>RSI (low 32 bits): the boot_params address.</summary>
        BootParams = 0,

        /// <summary>CS selector.</summary>
        CodeSegment,

        /// <summary>DS selector.</summary>
        DataSegment,

        /// <summary>SS selector.</summary>
        StackSegment,

        /// <summary>boot_params.e820_entries.</summary>
        E820Entries,

        /// <summary>hdr.type_of_loader.</summary>
        TypeOfLoader,

        /// <summary>hdr.cmd_line_ptr.</summary>
        CommandLinePointer,

        /// <summary>hdr.ramdisk_image.</summary>
        RamdiskImage,

        /// <summary>hdr.ramdisk_size.</summary>
        RamdiskSize,

        /// <summary>The first four bytes of the command line.</summary>
        CommandLineStart,

        /// <summary>The first four bytes of the initrd (0 without one).</summary>
        InitrdStart,

        /// <summary>RFLAGS (low 32 bits): interrupts must be off.</summary>
        Flags,
    }

    /// <summary>Header values of a test kernel; the defaults describe a modern relocatable 64-bit bzImage.</summary>
    public sealed record Spec
    {
        public ushort Protocol { get; init; } = Protocol215;
        public int HeaderEnd { get; init; } = HeaderEnd215;
        public byte SetupSectors { get; init; } = 4;
        public byte LoadFlags { get; init; } = LoadedHigh;
        public ushort XLoadFlags { get; init; } = XlfKernel64 | XlfCanBeLoadedAbove4G;
        public uint KernelAlignment { get; init; } = 0x20_0000;
        public bool Relocatable { get; init; } = true;
        public uint InitSize { get; init; } = 0x10_0000;
        public uint CommandLineSize { get; init; } = 255;
        public uint InitrdAddressMax { get; init; } = 0x7FFF_FFFF;
        public ulong PreferredAddress { get; init; } = 0x100_0000;

        /// <summary>Bytes of protected-mode code (the payload is padded to this).</summary>
        public int KernelSize { get; init; } = 0x1000;
    }

    /// <summary>The bzImage file for <paramref name="spec"/> (the defaults when null).</summary>
    public static byte[] Build(Spec? spec = null)
    {
        spec ??= new Spec();
        int setupSize = ((spec.SetupSectors == 0 ? 4 : spec.SetupSectors) + 1) * SectorSize;
        byte[] payload = Payload(spec.PreferredAddress + Entry64Offset);
        int kernelSize = Math.Max(spec.KernelSize, (int)Entry64Offset + payload.Length);
        byte[] file = new byte[setupSize + kernelSize];
        var f = file.AsSpan();
        f[SetupSectsOffset] = spec.SetupSectors;
        BinaryPrimitives.WriteUInt32LittleEndian(f[SyssizeOffset..], (uint)((kernelSize + 15) / 16));
        BinaryPrimitives.WriteUInt16LittleEndian(f[BootFlagOffset..], BootFlag);
        f[JumpOffset] = 0xEB; // jmp short over the header
        f[JumpOffset + 1] = (byte)(spec.HeaderEnd - HeaderOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(f[HeaderOffset..], HdrS);
        BinaryPrimitives.WriteUInt16LittleEndian(f[VersionOffset..], spec.Protocol);
        f[LoadFlagsOffset] = spec.LoadFlags;
        BinaryPrimitives.WriteUInt32LittleEndian(f[Code32StartOffset..], 0x10_0000);
        BinaryPrimitives.WriteUInt32LittleEndian(f[InitrdAddrMaxOffset..], spec.InitrdAddressMax);
        BinaryPrimitives.WriteUInt32LittleEndian(f[KernelAlignmentOffset..], spec.KernelAlignment);
        f[RelocatableKernelOffset] = spec.Relocatable ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt16LittleEndian(f[XLoadFlagsOffset..], spec.XLoadFlags);
        BinaryPrimitives.WriteUInt32LittleEndian(f[CmdlineSizeOffset..], spec.CommandLineSize);
        BinaryPrimitives.WriteUInt64LittleEndian(f[PrefAddressOffset..], spec.PreferredAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(f[InitSizeOffset..], spec.InitSize);
        payload.CopyTo(f[(setupSize + (int)Entry64Offset)..]);
        return file;
    }

    /// <summary>The 64-bit code at startup_64, assembled for <paramref name="entry"/>.</summary>
    public static byte[] Payload(ulong entry)
    {
        var asm = new Assembler(64);
        asm.mov(edx, IoGuests.ResultPort);
        asm.mov(rax, rsi);
        asm.@out(dx, eax);
        asm.mov(eax, 0);
        asm.mov(ax, cs);
        asm.@out(dx, eax);
        asm.mov(ax, ds);
        asm.@out(dx, eax);
        asm.mov(ax, ss);
        asm.@out(dx, eax);
        asm.movzx(eax, __byte_ptr[rsi + E820EntriesOffset]);
        asm.@out(dx, eax);
        asm.movzx(eax, __byte_ptr[rsi + TypeOfLoaderOffset]);
        asm.@out(dx, eax);
        asm.mov(eax, __dword_ptr[rsi + CmdLinePtrOffset]);
        asm.@out(dx, eax);
        asm.mov(eax, __dword_ptr[rsi + RamdiskImageOffset]);
        asm.@out(dx, eax);
        asm.mov(eax, __dword_ptr[rsi + RamdiskSizeOffset]);
        asm.@out(dx, eax);
        asm.mov(ebx, __dword_ptr[rsi + CmdLinePtrOffset]);
        asm.mov(eax, __dword_ptr[rbx]);
        asm.@out(dx, eax);
        var noInitrd = asm.CreateLabel();
        var reported = asm.CreateLabel();
        asm.mov(ebx, __dword_ptr[rsi + RamdiskImageOffset]);
        asm.test(ebx, ebx);
        asm.jz(noInitrd);
        asm.mov(eax, __dword_ptr[rbx]);
        asm.jmp(reported);
        asm.Label(ref noInitrd);
        asm.mov(eax, 0);
        asm.Label(ref reported);
        asm.@out(dx, eax);
        asm.pushfq();
        asm.pop(rax);
        asm.@out(dx, eax);
        GuestAssembler.EmitExit(asm, 0);
        using var stream = new MemoryStream();
        asm.Assemble(new StreamCodeWriter(stream), entry);
        return stream.ToArray();
    }
}
