using System.Buffers.Binary;
using System.Runtime.InteropServices;
using ActorVmm.Machine.Boot.Linux;
using ActorVmm.TestGuests;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using static ActorVmm.Machine.Boot.Linux.BootParamsConstants;
using Spec = ActorVmm.TestGuests.TestBzImage.Spec;

namespace ActorVmm.Machine.Tests.Boot;

public sealed class BzImageTests
{
    private static readonly Spec Default = new();
    private static readonly byte[] Valid = TestBzImage.Build(Default);

    [Fact]
    public void A_modern_bzImage_header_is_read_with_its_placement_fields()
    {
        var image = BzImage.Parse(Valid);

        Assert.Equal(TestBzImage.Protocol215, image.Protocol);
        Assert.Equal("2.15", image.ProtocolText);
        Assert.Equal((Default.SetupSectors + 1) * BzImage.SectorSize, image.SetupSize);
        Assert.Equal(Valid.Length - image.SetupSize, image.KernelSize);
        Assert.Equal(Default.PreferredAddress, image.LoadAddress);
        Assert.Equal(Default.PreferredAddress + BzImage.Entry64Offset, image.EntryPoint);
        Assert.Equal(Default.CommandLineSize, image.CommandLineLimit);
        Assert.Equal(Default.InitrdAddressMax, image.InitrdAddressMax);
        Assert.Equal(Default.InitSize, image.InitSize);
        Assert.True(image.Relocatable);
        Assert.Equal(Valid.AsSpan(BzImage.SetupHeaderOffset, TestBzImage.HeaderEnd215 - BzImage.SetupHeaderOffset).ToArray(), image.SetupHeaderBytes.ToArray());
    }

    [Fact]
    public void A_relocatable_kernel_is_loaded_at_its_preferred_address_aligned_up_to_kernel_alignment()
    {
        const ulong Unaligned = 0x110_0000;
        const uint Alignment = 0x40_0000;
        var image = BzImage.Parse(TestBzImage.Build(Default with { PreferredAddress = Unaligned, KernelAlignment = Alignment }));

        Assert.Equal(0x140_0000UL, image.LoadAddress);
        Assert.Equal(0UL, image.LoadAddress % Alignment);
    }

    [Fact]
    public void A_kernel_without_a_preferred_address_is_loaded_at_1_MiB()
    {
        var image = BzImage.Parse(TestBzImage.Build(Default with { PreferredAddress = 0, Relocatable = false }));

        Assert.Equal(BzImage.DefaultLoadAddress, image.LoadAddress);
    }

    [Fact]
    public void The_test_image_writes_each_field_where_struct_setup_header_has_it()
    {
        (int Offset, string Field)[] fields =
        [
            (TestBzImage.SetupSectsOffset, nameof(setup_header.setup_sects)), (TestBzImage.SyssizeOffset, nameof(setup_header.syssize)),
            (TestBzImage.BootFlagOffset, nameof(setup_header.boot_flag)), (TestBzImage.JumpOffset, nameof(setup_header.jump)),
            (TestBzImage.HeaderOffset, nameof(setup_header.header)), (TestBzImage.VersionOffset, nameof(setup_header.version)),
            (TestBzImage.TypeOfLoaderOffset, nameof(setup_header.type_of_loader)), (TestBzImage.LoadFlagsOffset, nameof(setup_header.loadflags)),
            (TestBzImage.Code32StartOffset, nameof(setup_header.code32_start)), (TestBzImage.RamdiskImageOffset, nameof(setup_header.ramdisk_image)),
            (TestBzImage.RamdiskSizeOffset, nameof(setup_header.ramdisk_size)), (TestBzImage.CmdLinePtrOffset, nameof(setup_header.cmd_line_ptr)),
            (TestBzImage.InitrdAddrMaxOffset, nameof(setup_header.initrd_addr_max)), (TestBzImage.KernelAlignmentOffset, nameof(setup_header.kernel_alignment)),
            (TestBzImage.RelocatableKernelOffset, nameof(setup_header.relocatable_kernel)), (TestBzImage.XLoadFlagsOffset, nameof(setup_header.xloadflags)),
            (TestBzImage.CmdlineSizeOffset, nameof(setup_header.cmdline_size)), (TestBzImage.PrefAddressOffset, nameof(setup_header.pref_address)),
            (TestBzImage.InitSizeOffset, nameof(setup_header.init_size)),
        ];

        Assert.All(fields, f => Assert.Equal(BzImage.SetupHeaderOffset + (int)Marshal.OffsetOf<setup_header>(f.Field), f.Offset));
        Assert.Equal(TestBzImage.HeaderEnd215, BzImage.SetupHeaderOffset + Marshal.SizeOf<setup_header>());
        Assert.Equal(BzImage.HeaderMagic, TestBzImage.HdrS);
        Assert.Equal(LOADED_HIGH, TestBzImage.LoadedHigh);
        Assert.Equal(XLF_KERNEL_64, TestBzImage.XlfKernel64);
        Assert.Equal(BootParamsConstants.E820NR, TestBzImage.E820EntriesOffset);
    }

    public static TheoryData<string, byte[], string> BadKernels => new()
    {
        { "too short", Valid[..0x100], "shorter than a Linux setup header" },
        { "an ELF vmlinux", Elf(), "is an ELF file" },
        { "no HdrS", Patch32(TestBzImage.HeaderOffset, 0), "no \"HdrS\"" },
        { "no boot flag", Patch16(TestBzImage.BootFlagOffset, 0), "boot_flag" },
        { "protocol 2.06", TestBzImage.Build(Default with { Protocol = 0x0206 }), "older than the 2.10" },
        { "header ending before init_size", TestBzImage.Build(Default with { HeaderEnd = BzImage.MinimumHeaderEnd - 4 }), "corrupt setup header" },
        { "a zImage", TestBzImage.Build(Default with { LoadFlags = 0 }), "is a zImage" },
        { "no 64-bit entry", TestBzImage.Build(Default with { XLoadFlags = 0 }), "XLF_KERNEL_64" },
        { "kernel_alignment not a power of two", TestBzImage.Build(Default with { KernelAlignment = 0x30_0000 }), "not a power of two" },
        { "init_size below the code", TestBzImage.Build(Default with { InitSize = 0x10 }), "init_size" },
        { "cut inside the setup", Valid[..(BzImage.MinimumHeaderEnd + 1)], "inside its" },
        { "cut inside the kernel", Valid[..^1], "is truncated" },
        { "no protected-mode code", Valid[..((Default.SetupSectors + 1) * BzImage.SectorSize)], "is truncated" },
    };

    [Theory]
    [MemberData(nameof(BadKernels))]
    public void A_kernel_this_loader_cannot_boot_is_rejected_with_the_failed_check_named(string what, byte[] file, string message)
    {
        var ex = Assert.Throws<LinuxBootException>(() => BzImage.Parse(file, "kernel 'k'"));

        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("kernel 'k' ", ex.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(what));
    }

    [Property(MaxTest = 500)]
    public Property A_truncated_kernel_fails_with_LinuxBootException_only() =>
        Prop.ForAll(Gen.Choose(0, Valid.Length - 1).ToArbitrary(), length => ParsesOrFailsCleanly(Valid[..length], mustFail: true));

    [Property(MaxTest = 1000)]
    public Property A_corrupted_header_parses_or_fails_with_LinuxBootException_only()
    {
        var corruption = from count in Gen.Choose(1, 8)
                         from positions in Gen.ArrayOf(Gen.Choose(0, TestBzImage.HeaderEnd215 + 0x10), count)
                         from values in Gen.ArrayOf(Gen.Choose(0, 255), count)
                         select (positions, values);
        return Prop.ForAll(corruption.ToArbitrary(), c =>
        {
            byte[] file = (byte[])Valid.Clone();
            for (int i = 0; i < c.positions.Length; i++)
            {
                file[c.positions[i]] = (byte)c.values[i];
            }

            return ParsesOrFailsCleanly(file, mustFail: false);
        });
    }

    [Property(MaxTest = 300)]
    public Property Random_bytes_fail_with_LinuxBootException_only() =>
        Prop.ForAll(Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b)).ToArbitrary(), bytes => ParsesOrFailsCleanly(bytes, mustFail: false));

    private static bool ParsesOrFailsCleanly(byte[] file, bool mustFail)
    {
        try
        {
            var image = BzImage.Parse(file);

            // Whatever parsed is self-consistent: the code it describes lies inside the file.
            return !mustFail && image.SetupSize + image.KernelSize == file.Length && image.KernelSize > 0 && image.InitSize >= image.KernelSize;
        }
        catch (LinuxBootException ex)
        {
            return ex.Message.Length > 0;
        }
    }

    private static byte[] Patch16(int offset, ushort value)
    {
        byte[] file = (byte[])Valid.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(offset), value);
        return file;
    }

    private static byte[] Patch32(int offset, uint value)
    {
        byte[] file = (byte[])Valid.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(offset), value);
        return file;
    }

    private static byte[] Elf()
    {
        byte[] file = (byte[])Valid.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(file, BzImage.ElfMagic);
        return file;
    }
}
