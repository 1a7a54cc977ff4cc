using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Boot.Linux;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Memory;
using ActorVmm.TestGuests;
using static ActorVmm.Machine.Boot.Linux.BootParamsConstants;
using Spec = ActorVmm.TestGuests.TestBzImage.Spec;

namespace ActorVmm.Machine.Tests.Boot;

public sealed class LinuxLoaderTests
{
    private const ulong MiB = 1UL << 20;
    private const ulong Ram = 64 * MiB;
    private const string CommandLine = "console=ttyS0 reboot=k";
    private static readonly Spec Default = new();
    private static readonly MemoryLayout Layout = MemoryMap.X86.Layout(Ram);

    [Fact]
    public void The_kernel_runs_at_its_preferred_address_and_the_initrd_goes_as_high_as_RAM_allows()
    {
        const ulong InitrdSize = 3 * MiB + 123;
        var plan = LinuxLoader.Plan(BzImage.Parse(TestBzImage.Build()), InitrdSize, CommandLine, Layout);

        Assert.Equal(Default.PreferredAddress, plan.KernelAddress);
        Assert.Equal(Default.PreferredAddress + Default.InitSize, plan.KernelInitEnd);
        Assert.Equal(Default.PreferredAddress + BzImage.Entry64Offset, plan.EntryPoint);
        Assert.Equal(InitrdSize, plan.InitrdSize);
        Assert.Equal(0UL, plan.InitrdAddress % LinuxLoader.InitrdAlignment);
        Assert.True(plan.InitrdAddress + InitrdSize <= Ram);
        Assert.True(Ram - (plan.InitrdAddress + InitrdSize) < LinuxLoader.InitrdAlignment);
        Assert.Equal(Encoding.ASCII.GetBytes(CommandLine), plan.CommandLine);
    }

    [Fact]
    public void The_initrd_stays_below_initrd_addr_max()
    {
        const uint Max = (uint)(32 * MiB) - 1;
        const ulong InitrdSize = MiB;
        var kernel = BzImage.Parse(TestBzImage.Build(Default with { InitrdAddressMax = Max }));

        var plan = LinuxLoader.Plan(kernel, InitrdSize, CommandLine, Layout);

        Assert.Equal(Max + 1 - InitrdSize, plan.InitrdAddress);
    }

    [Fact]
    public void An_initrd_that_does_not_fit_between_the_kernel_and_its_ceiling_names_both_limits()
    {
        var kernel = BzImage.Parse(TestBzImage.Build());
        ulong tooBig = Ram - Default.PreferredAddress - Default.InitSize + LinuxLoader.InitrdAlignment;

        var ex = Assert.Throws<LinuxBootException>(() => LinuxLoader.Plan(kernel, tooBig, CommandLine, Layout));

        Assert.Contains($"the initrd ({tooBig} bytes) does not fit", ex.Message, StringComparison.Ordinal);
        Assert.Contains("initrd_addr_max", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_kernel_whose_init_size_does_not_fit_in_RAM_says_how_much_it_needs()
    {
        var kernel = BzImage.Parse(TestBzImage.Build(Default with { InitSize = (uint)(Ram - Default.PreferredAddress + MiB) }));

        var ex = Assert.Throws<LinuxBootException>(() => LinuxLoader.Plan(kernel, 0, CommandLine, Layout));

        Assert.Contains("does not fit in guest RAM", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"needs at least {(Ram / MiB) + 1} MiB", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_command_line_longer_than_cmdline_size_is_refused_with_the_limit()
    {
        var kernel = BzImage.Parse(TestBzImage.Build());
        string longLine = new('x', (int)Default.CommandLineSize + 1);

        var ex = Assert.Throws<LinuxBootException>(() => LinuxLoader.Plan(kernel, 0, longLine, Layout));
        LinuxLoader.Plan(kernel, 0, longLine[..^1], Layout);

        Assert.Contains($"longer than the {Default.CommandLineSize} this kernel takes (cmdline_size)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_command_line_with_a_NUL_is_refused()
    {
        var ex = Assert.Throws<LinuxBootException>(() => LinuxLoader.Plan(BzImage.Parse(TestBzImage.Build()), 0, "a\0b", Layout));
        Assert.Contains("NUL", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RAM_below_1_MiB_is_too_small_for_the_boot_tables()
    {
        var ex = Assert.Throws<LinuxBootException>(() => LinuxLoader.Plan(BzImage.Parse(TestBzImage.Build()), 0, CommandLine, MemoryMap.X86.Layout(MiB / 2)));
        Assert.Contains("too small for Linux", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_writes_the_kernel_initrd_command_line_MP_table_and_a_zero_page_pointing_at_them()
    {
        byte[] file = TestBzImage.Build();
        byte[] initrd = [.. Enumerable.Range(0, 5000).Select(i => (byte)i)];
        using var memory = GuestMemory.Create(Layout);

        var entry = LinuxLoader.Load(memory, Layout, new LinuxBoot(file, initrd, CommandLine), vcpuCount: 2);

        var kernel = BzImage.Parse(file);
        var plan = LinuxLoader.Plan(kernel, (ulong)initrd.Length, CommandLine, Layout);
        Assert.Equal(new LongModeEntry(kernel.EntryPoint, LinuxLoader.StackPointer, LinuxLoader.BootParamsAddress), entry);
        Assert.Equal(file.AsSpan(kernel.SetupSize).ToArray(), Read(memory, kernel.LoadAddress, (int)kernel.KernelSize));
        Assert.Equal(initrd, Read(memory, plan.InitrdAddress, initrd.Length));
        Assert.Equal([.. Encoding.ASCII.GetBytes(CommandLine), 0], Read(memory, LinuxLoader.CommandLineAddress, CommandLine.Length + 1));
        Assert.Equal(MpTable.Build(new MpTableConfig(2, X86MemoryMap.LocalApicBase, X86MemoryMap.IoApicBase)), Read(memory, MpTable.DefaultAddress, MpTable.Size(new MpTableConfig(2, 0, 0))));

        byte[] page = Read(memory, LinuxLoader.BootParamsAddress, BootParamsBuilder.Size);
        var bp = MemoryMarshal.Read<boot_params>(page);
        Assert.Equal(BootParamsBuilder.UndefinedLoader, bp.hdr.type_of_loader);
        Assert.Equal(LinuxLoader.CommandLineAddress, bp.hdr.cmd_line_ptr);
        Assert.Equal(plan.InitrdAddress, bp.hdr.ramdisk_image);
        Assert.Equal((uint)initrd.Length, bp.hdr.ramdisk_size);
        Assert.Equal(0u, bp.ext_ramdisk_image);
        Assert.Equal((uint)kernel.LoadAddress, bp.hdr.code32_start);
        Assert.Equal(BootParamsBuilder.VideoModeNormal, bp.hdr.vid_mode);
        Assert.Equal(0, bp.sentinel);

        // The rest of the kernel's own header is copied unchanged.
        Assert.Equal(TestBzImage.HdrS, bp.hdr.header);
        Assert.Equal(Default.InitSize, bp.hdr.init_size);
        Assert.Equal(Default.CommandLineSize, bp.hdr.cmdline_size);
        Assert.Equal(LOADED_HIGH, bp.hdr.loadflags);

        var e820 = E820Table.Build(Layout, [(MpTable.DefaultAddress, MpTable.MaxSize)]);
        Assert.Equal(e820.Count, bp.e820_entries);
        for (int i = 0; i < e820.Count; i++)
        {
            var raw = MemoryMarshal.Read<boot_e820_entry>(page.AsSpan(E820MAP + (i * Marshal.SizeOf<boot_e820_entry>())));
            Assert.Equal(e820[i], new E820Entry(raw.addr, raw.size, (E820Type)raw.type));
        }
    }

    [Fact]
    public void The_zero_page_keeps_a_longer_future_header_out_of_the_fields_after_it()
    {
        int longHeaderEnd = BootParamsBuilder.SetupHeaderAreaEnd + 0x40;
        byte[] file = TestBzImage.Build(Default with { HeaderEnd = longHeaderEnd, SetupSectors = 8 });
        for (int i = TestBzImage.HeaderEnd215; i < longHeaderEnd; i++)
        {
            file[i] = 0xEE;
        }

        var kernel = BzImage.Parse(file);
        byte[] page = BootParamsBuilder.Build(kernel, LinuxLoader.Plan(kernel, 0, CommandLine, Layout), LinuxLoader.CommandLineAddress);

        Assert.All(page.AsSpan(BootParamsBuilder.SetupHeaderAreaEnd, E820MAP - BootParamsBuilder.SetupHeaderAreaEnd).ToArray(), b => Assert.Equal(0, b));
        Assert.Equal(0xEE, page[TestBzImage.HeaderEnd215]);
        Assert.Equal(TestBzImage.Protocol215, BinaryPrimitives.ReadUInt16LittleEndian(page.AsSpan(TestBzImage.VersionOffset)));
    }

    [Fact]
    public void The_platform_entries_come_first_then_the_users_parameters()
    {
        Assert.Equal("console=ttyS0 reboot=k acpi=off panic=-1 quiet", LinuxCommandLine.Compose(" panic=-1 quiet "));
        Assert.Equal("console=ttyS0 reboot=k acpi=off", LinuxCommandLine.Compose(null));
        Assert.Equal("console=ttyS0 reboot=k acpi=off rw virtio_mmio.device=512@0xfe000000:5", LinuxCommandLine.Compose("rw", ["virtio_mmio.device=512@0xfe000000:5"]));
    }

    private static byte[] Read(GuestMemory memory, ulong address, int length)
    {
        byte[] bytes = new byte[length];
        memory.Read(address, bytes);
        return bytes;
    }
}
