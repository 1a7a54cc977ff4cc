using System.Text;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Memory;

namespace ActorVmm.Machine.Boot.Linux;

/// <summary>
/// The x86 Linux 64-bit boot protocol (Documentation/arch/x86/boot.rst) for a bzImage:
/// <code>
/// 0x0000_0500  GDT (LongModeEntry)           0x0002_0000  command line (≤ 64 KiB)
/// 0x0000_7000  boot_params (zero page)       0x000F_0000  MP table (BIOS area, e820-reserved)
/// 0x0000_8FF0  initial stack (grows down)    pref_address protected-mode kernel, then init_size of room
/// 0x0000_9000  PML4, PDPT, 4 PDs (4 GiB)     top of RAM   initrd, as high as initrd_addr_max allows
/// </code>
/// <see cref="Plan"/> checks everything against the VM's <see cref="MemoryLayout"/> without guest memory (the CLI uses
/// it before anything starts); <see cref="Load"/> plans again and writes the kernel, initrd, command line, zero page
/// and MP table, and returns the long-mode entry at startup_64 with RSI = boot_params.
/// </summary>
public static class LinuxLoader
{
    /// <summary>Where boot_params goes.</summary>
    public const ulong BootParamsAddress = 0x7000;

    /// <summary>RSP at entry: below the page tables, above the zero page (the kernel switches stacks at once).</summary>
    public const ulong StackPointer = 0x8FF0;

    /// <summary>Where the command line goes (boot.rst: below 0xA0000, above the real-mode area).</summary>
    public const ulong CommandLineAddress = 0x2_0000;

    /// <summary>Room for the command line and its terminating zero.</summary>
    public const ulong CommandLineAreaSize = 0x1_0000;

    /// <summary>Everything the loader writes below this (tables, zero page, command line, MP table); kernel and initrd go above.</summary>
    public const ulong LowMemoryEnd = 0x10_0000;

    /// <summary>The initrd starts on a page boundary.</summary>
    public const ulong InitrdAlignment = 0x1000;

    private const ulong MiB = 1UL << 20;

    /// <summary>Checks that the kernel, an initrd of <paramref name="initrdSize"/> bytes and the command line fit in a VM with <paramref name="layout"/>, and says where each goes.</summary>
    /// <exception cref="LinuxBootException">Something does not fit; the message names the limit.</exception>
    public static LinuxBootPlan Plan(BzImage kernel, ulong initrdSize, string commandLine, MemoryLayout layout)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(commandLine);
        ArgumentNullException.ThrowIfNull(layout);
        byte[] command = CommandLineBytes(commandLine, kernel.CommandLineLimit);

        // Everything goes into the RAM that starts at 0 (below the 32-bit hole, inside the 4 GiB identity map).
        var low = layout.RamSlots.FirstOrDefault(s => s.GuestPhysicalAddress == 0)
            ?? throw new LinuxBootException("the guest memory map has no RAM at address 0, which the Linux boot tables need");
        ulong lowEnd = low.Size;
        if (lowEnd < LowMemoryEnd)
        {
            throw new LinuxBootException($"guest RAM ({Describe(layout.RamSize)}) is too small for Linux: the boot tables alone need the first {LowMemoryEnd / MiB} MiB");
        }

        ulong kernelStart = kernel.LoadAddress;
        ulong kernelEnd = kernelStart > ulong.MaxValue - kernel.InitSize ? ulong.MaxValue : kernelStart + kernel.InitSize;
        if (kernelStart < LowMemoryEnd || kernelEnd > lowEnd)
        {
            throw new LinuxBootException(
                $"the kernel does not fit in guest RAM: it runs at 0x{kernelStart:X} and needs init_size 0x{kernel.InitSize:X} bytes from there, up to 0x{kernelEnd:X}; " +
                $"RAM below the 32-bit hole ends at 0x{lowEnd:X} ({Describe(layout.RamSize)} of RAM; this kernel needs at least {CeilingMiB(kernelEnd)} MiB)");
        }

        ulong initrdAddress = 0;
        if (initrdSize > 0)
        {
            ulong ceiling = Math.Min((ulong)kernel.InitrdAddressMax + 1, lowEnd);
            ulong start = ceiling >= initrdSize ? (ceiling - initrdSize) & ~(InitrdAlignment - 1) : 0;
            if (ceiling < initrdSize || start < kernelEnd)
            {
                ulong room = ceiling > kernelEnd ? ceiling - kernelEnd : 0;
                throw new LinuxBootException(
                    $"the initrd ({initrdSize} bytes) does not fit: it must lie between the kernel's end at 0x{kernelEnd:X} and 0x{ceiling:X} " +
                    $"(the lower of initrd_addr_max 0x{kernel.InitrdAddressMax:X} + 1 and the end of RAM below the 32-bit hole), which holds {room} bytes; " +
                    $"give the guest more memory (-m) or use a smaller initrd");
            }

            initrdAddress = start;
        }

        var e820 = E820Table.Build(layout, [(MpTable.DefaultAddress, MpTable.MaxSize)]);
        return new LinuxBootPlan(kernelStart, kernelEnd, kernel.EntryPoint, initrdAddress, initrdSize, command, e820);
    }

    /// <summary>Writes a Linux boot into a VM's RAM and returns the boot vCPU's entry state.</summary>
    /// <exception cref="LinuxBootException">The kernel is not bootable or something does not fit.</exception>
    public static LongModeEntry Load(GuestMemory memory, MemoryLayout layout, LinuxBoot boot, int vcpuCount)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(boot);
        var kernel = BzImage.Parse(boot.Kernel);
        ulong initrdSize = (ulong)(boot.Initrd?.LongLength ?? 0);
        var plan = Plan(kernel, initrdSize, boot.CommandLine, layout);

        memory.Write(plan.KernelAddress, boot.Kernel.AsSpan(kernel.SetupSize));
        if (boot.Initrd is { Length: > 0 } initrd)
        {
            memory.Write(plan.InitrdAddress, initrd);
        }

        memory.Write(CommandLineAddress, [.. plan.CommandLine, 0]);
        var mp = new MpTableConfig(vcpuCount, X86MemoryMap.LocalApicBase, X86MemoryMap.IoApicBase);
        memory.Write(MpTable.DefaultAddress, MpTable.Build(mp, MpTable.DefaultAddress));
        memory.Write(BootParamsAddress, BootParamsBuilder.Build(kernel, plan, CommandLineAddress));
        return new LongModeEntry(plan.EntryPoint, StackPointer, BootParamsAddress);
    }

    private static byte[] CommandLineBytes(string commandLine, uint kernelLimit)
    {
        if (commandLine.Contains('\0', StringComparison.Ordinal))
        {
            throw new LinuxBootException("the command line contains a NUL character, which would end it early");
        }

        byte[] bytes = Encoding.UTF8.GetBytes(commandLine);
        if ((ulong)bytes.Length > kernelLimit)
        {
            throw new LinuxBootException($"the command line is {bytes.Length} bytes, longer than the {kernelLimit} this kernel takes (cmdline_size)");
        }

        if ((ulong)bytes.Length >= CommandLineAreaSize)
        {
            throw new LinuxBootException($"the command line is {bytes.Length} bytes, longer than the loader's {CommandLineAreaSize - 1}-byte area");
        }

        return bytes;
    }

    private static ulong CeilingMiB(ulong bytes) => bytes == ulong.MaxValue ? bytes / MiB : (bytes + MiB - 1) / MiB;

    private static string Describe(ulong bytes) => bytes % MiB == 0 ? $"{bytes / MiB} MiB" : $"{bytes} bytes";
}
