using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using static ActorVmm.Machine.Boot.Linux.BootParamsConstants;

namespace ActorVmm.Machine.Boot.Linux;

/// <summary>
/// A Linux/x86 bzImage whose setup header (Documentation/arch/x86/boot.rst) passed every check this loader needs for
/// the 64-bit boot protocol: the "HdrS" signature and 0xAA55 boot flag, protocol 2.10 or newer, LOADED_HIGH, a
/// 64-bit entry point (XLF_KERNEL_64), a power-of-two kernel_alignment, a non-zero init_size covering the
/// protected-mode code, and a file long enough for the setup and the syssize the header announces. Every field is
/// read from a zero-padded copy of the header bytes, so a short or corrupt file can only end in a
/// <see cref="LinuxBootException"/>.
/// </summary>
public sealed class BzImage
{
    /// <summary>Offset of the setup header in the file (and in boot_params).</summary>
    public const int SetupHeaderOffset = 0x1F1;

    /// <summary>Offset of boot_flag.</summary>
    public const int BootFlagOffset = 0x1FE;

    /// <summary>Offset of the jump instruction whose second byte gives the header's length (end = 0x202 + that byte).</summary>
    public const int JumpOffset = 0x200;

    /// <summary>Offset of the "HdrS" signature.</summary>
    public const int HeaderMagicOffset = 0x202;

    /// <summary>Offset of the protocol version, right after the signature.</summary>
    public const int VersionOffset = 0x206;

    /// <summary>The "HdrS" signature, little-endian.</summary>
    public const uint HeaderMagic = 0x5372_6448;

    /// <summary>boot_flag's fixed value.</summary>
    public const ushort BootFlagMagic = 0xAA55;

    /// <summary>Oldest protocol accepted: 2.10 brought init_size and pref_address, which placement relies on.</summary>
    public const ushort MinimumProtocol = 0x020A;

    /// <summary>End of the protocol 2.10 header (init_size is its last field, at 0x260).</summary>
    public const int MinimumHeaderEnd = 0x264;

    /// <summary>Bytes per setup sector.</summary>
    public const int SectorSize = 512;

    /// <summary>setup_sects of 0 means 4, for old kernels' sake.</summary>
    public const int DefaultSetupSectors = 4;

    /// <summary>The 64-bit entry point (startup_64) lies this far past the protected-mode code's load address.</summary>
    public const ulong Entry64Offset = 0x200;

    /// <summary>Where a bzImage's protected-mode code goes when it names no preferred address ("high memory").</summary>
    public const ulong DefaultLoadAddress = 0x10_0000;

    /// <summary>Bytes per syssize unit (a paragraph).</summary>
    public const int ParagraphSize = 16;

    /// <summary>The first bytes of an ELF file (an uncompressed vmlinux).</summary>
    public const uint ElfMagic = 0x464C_457F;

    private static readonly int SetupHeaderSize = Unsafe.SizeOf<setup_header>();

    private readonly setup_header _header;
    private readonly byte[] _headerBytes;

    private BzImage(setup_header header, byte[] headerBytes, int setupSize, long kernelSize)
    {
        _header = header;
        _headerBytes = headerBytes;
        SetupSize = setupSize;
        KernelSize = kernelSize;
    }

    /// <summary>Boot protocol version, (major &lt;&lt; 8) | minor.</summary>
    public ushort Protocol => _header.version;

    /// <summary>The protocol as text, e.g. "2.15".</summary>
    public string ProtocolText => FormatProtocol(_header.version);

    /// <summary>Bytes of real-mode setup (boot sector included) before the protected-mode code in the file.</summary>
    public int SetupSize { get; }

    /// <summary>Bytes of protected-mode code: the rest of the file after the setup.</summary>
    public long KernelSize { get; }

    /// <summary>The kernel can run at any address aligned to <see cref="KernelAlignment"/>.</summary>
    public bool Relocatable => _header.relocatable_kernel != 0;

    /// <summary>kernel_alignment: a power of two.</summary>
    public uint KernelAlignment => _header.kernel_alignment;

    /// <summary>xloadflags.</summary>
    public ushort XLoadFlags => _header.xloadflags;

    /// <summary>cmdline_size: the longest command line the kernel takes, in bytes, without the terminating zero.</summary>
    public uint CommandLineLimit => _header.cmdline_size;

    /// <summary>initrd_addr_max: the highest byte address an initrd may occupy.</summary>
    public uint InitrdAddressMax => _header.initrd_addr_max;

    /// <summary>pref_address: where the kernel would like to be loaded (0 when it names none).</summary>
    public ulong PreferredAddress => _header.pref_address;

    /// <summary>init_size: contiguous bytes from the kernel's runtime start it needs before it reads the memory map.</summary>
    public uint InitSize => _header.init_size;

    /// <summary>
    /// Where the protected-mode code is loaded, which is also its runtime start (boot.rst, init_size): pref_address
    /// (else 1 MiB), aligned up to kernel_alignment when the kernel is relocatable, so it never has to move itself.
    /// [LoadAddress, LoadAddress + InitSize) must be free RAM. Saturates at <see cref="ulong.MaxValue"/> for a corrupt
    /// pref_address, which then fits nowhere.
    /// </summary>
    public ulong LoadAddress
    {
        get
        {
            ulong preferred = PreferredAddress != 0 ? PreferredAddress : DefaultLoadAddress;
            return Relocatable ? AlignUp(preferred, KernelAlignment) : preferred;
        }
    }

    /// <summary>The 64-bit entry point, startup_64.</summary>
    public ulong EntryPoint => LoadAddress + Entry64Offset;

    /// <summary>The setup header as the file has it, from 0x1F1 to its own end (what boot_params gets a copy of).</summary>
    public ReadOnlySpan<byte> SetupHeaderBytes => _headerBytes;

    /// <summary>Checks a kernel file's setup header for the 64-bit boot protocol.</summary>
    /// <param name="file">The whole kernel file.</param>
    /// <param name="name">How messages name the file, e.g. "kernel '/boot/vmlinuz'".</param>
    /// <exception cref="LinuxBootException">The file is not a bootable bzImage; the message names the failed check.</exception>
    public static BzImage Parse(ReadOnlySpan<byte> file, string name = "the kernel")
    {
        ArgumentNullException.ThrowIfNull(name);
        if (file.Length < VersionOffset + sizeof(ushort))
        {
            throw new LinuxBootException($"{name} is not a bzImage: {file.Length} bytes is shorter than a Linux setup header (0x{VersionOffset + sizeof(ushort):X} bytes)");
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(file) == ElfMagic)
        {
            throw new LinuxBootException($"{name} is an ELF file (an uncompressed vmlinux); this loader boots bzImage kernels (arch/x86/boot/bzImage, /boot/vmlinuz-*)");
        }

        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(file[HeaderMagicOffset..]);
        if (magic != HeaderMagic)
        {
            throw new LinuxBootException($"{name} is not a bzImage: no \"HdrS\" setup-header signature at offset 0x{HeaderMagicOffset:X}");
        }

        ushort bootFlag = BinaryPrimitives.ReadUInt16LittleEndian(file[BootFlagOffset..]);
        if (bootFlag != BootFlagMagic)
        {
            throw new LinuxBootException($"{name} is not a bzImage: boot_flag at offset 0x{BootFlagOffset:X} is 0x{bootFlag:X4}, not 0x{BootFlagMagic:X4}");
        }

        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(file[VersionOffset..]);
        if (version < MinimumProtocol)
        {
            throw new LinuxBootException($"{name} uses boot protocol {FormatProtocol(version)}, older than the {FormatProtocol(MinimumProtocol)} this loader needs (init_size and pref_address)");
        }

        // The header's own length: the jump at 0x200 skips over it (boot.rst, "jump").
        int headerEnd = HeaderMagicOffset + file[JumpOffset + 1];
        if (headerEnd < MinimumHeaderEnd)
        {
            throw new LinuxBootException($"{name} has a corrupt setup header: it ends at 0x{headerEnd:X}, before init_size's end at 0x{MinimumHeaderEnd:X} that protocol {FormatProtocol(version)} has");
        }

        int sectors = file[SetupHeaderOffset] == 0 ? DefaultSetupSectors : file[SetupHeaderOffset];
        int setupSize = (sectors + 1) * SectorSize;
        if (headerEnd > setupSize)
        {
            throw new LinuxBootException($"{name} has a corrupt setup header: it ends at 0x{headerEnd:X}, past the {setupSize}-byte real-mode setup (setup_sects {file[SetupHeaderOffset]})");
        }

        if (file.Length < setupSize)
        {
            throw new LinuxBootException($"{name} is truncated: {file.Length} bytes end inside its {setupSize}-byte real-mode setup (setup_sects {file[SetupHeaderOffset]})");
        }

        // Fields past the header's own end read as zero: only what this kernel's header has is used.
        byte[] headerBytes = file[SetupHeaderOffset..headerEnd].ToArray();
        Span<byte> padded = stackalloc byte[SetupHeaderSize];
        padded.Clear();
        headerBytes.AsSpan(0, Math.Min(headerBytes.Length, SetupHeaderSize)).CopyTo(padded);
        var header = MemoryMarshal.Read<setup_header>(padded);
        long kernelSize = file.Length - setupSize;

        if ((header.loadflags & LOADED_HIGH) == 0)
        {
            throw new LinuxBootException($"{name} is a zImage (loadflags LOADED_HIGH clear); only bzImage kernels, loaded high, are supported");
        }

        long announced = (long)header.syssize * ParagraphSize;
        if (kernelSize < announced)
        {
            throw new LinuxBootException($"{name} is truncated: syssize announces {announced} bytes of protected-mode code after the {setupSize}-byte setup, the file holds {kernelSize}");
        }

        if (kernelSize == 0)
        {
            throw new LinuxBootException($"{name} is truncated: it holds no protected-mode code after its {setupSize}-byte setup");
        }

        if ((header.xloadflags & XLF_KERNEL_64) == 0)
        {
            throw new LinuxBootException($"{name} has no 64-bit entry point (xloadflags XLF_KERNEL_64 clear): a 32-bit kernel, or boot protocol {FormatProtocol(version)} before 2.12");
        }

        if (header.kernel_alignment == 0 || !BitOperations.IsPow2(header.kernel_alignment))
        {
            throw new LinuxBootException($"{name} has a corrupt setup header: kernel_alignment 0x{header.kernel_alignment:X} is not a power of two");
        }

        if (header.init_size < kernelSize)
        {
            throw new LinuxBootException($"{name} has a corrupt setup header: init_size 0x{header.init_size:X} is smaller than its {kernelSize}-byte protected-mode code");
        }

        return new BzImage(header, headerBytes, setupSize, kernelSize);
    }

    /// <summary>"2.15" for 0x020F.</summary>
    public static string FormatProtocol(ushort version) => $"{version >> 8}.{version & 0xFF:D2}";

    private static ulong AlignUp(ulong value, ulong alignment) =>
        value > ulong.MaxValue - (alignment - 1) ? ulong.MaxValue : (value + alignment - 1) & ~(alignment - 1);
}
