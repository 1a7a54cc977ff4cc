using System.Runtime.InteropServices;
using static ActorVmm.Machine.Boot.Linux.BootParamsConstants;

namespace ActorVmm.Machine.Boot.Linux;

/// <summary>
/// Builds struct boot_params (the zero page) for the 64-bit boot protocol: all zero, the kernel's own setup header
/// copied to 0x1F1, then the fields a boot loader writes (type_of_loader, vid_mode, code32_start, ramdisk_image and
/// ramdisk_size with their ext_ high halves, cmd_line_ptr) and the e820 table.
/// </summary>
public static class BootParamsBuilder
{
    /// <summary>Size of the zero page.</summary>
    public const int Size = 4096;

    /// <summary>type_of_loader for a boot loader without an assigned ID.</summary>
    public const byte UndefinedLoader = 0xFF;

    /// <summary>vid_mode "normal" (boot.rst, special command line options: vga=normal).</summary>
    public const ushort VideoModeNormal = 0xFFFF;

    /// <summary>Where the setup-header area of the zero page ends (edd_mbr_sig_buffer follows): a longer header is cut here.</summary>
    public static readonly int SetupHeaderAreaEnd = (int)Marshal.OffsetOf<boot_params>(nameof(boot_params.edd_mbr_sig_buffer));

    /// <summary>The zero page for <paramref name="kernel"/> booted as <paramref name="plan"/> says, with the command line at <paramref name="commandLineAddress"/>.</summary>
    public static byte[] Build(BzImage kernel, LinuxBootPlan plan, ulong commandLineAddress)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(plan);
        var page = new byte[Size];
        var header = kernel.SetupHeaderBytes;
        header[..Math.Min(header.Length, SetupHeaderAreaEnd - BzImage.SetupHeaderOffset)].CopyTo(page.AsSpan(BzImage.SetupHeaderOffset));

        ref var bp = ref MemoryMarshal.AsRef<boot_params>(page.AsSpan());
        bp.hdr.type_of_loader = UndefinedLoader;
        bp.hdr.vid_mode = VideoModeNormal;
        bp.hdr.code32_start = (uint)plan.KernelAddress;
        bp.hdr.ramdisk_image = (uint)plan.InitrdAddress;
        bp.hdr.ramdisk_size = (uint)plan.InitrdSize;
        bp.ext_ramdisk_image = (uint)(plan.InitrdAddress >> 32);
        bp.ext_ramdisk_size = (uint)(plan.InitrdSize >> 32);
        bp.hdr.cmd_line_ptr = (uint)commandLineAddress;
        bp.ext_cmd_line_ptr = (uint)(commandLineAddress >> 32);

        if (plan.E820.Count > E820_MAX_ENTRIES_ZEROPAGE)
        {
            throw new LinuxBootException($"the guest memory map has {plan.E820.Count} e820 entries, more than the {E820_MAX_ENTRIES_ZEROPAGE} the zero page holds");
        }

        bp.e820_entries = (byte)plan.E820.Count;
        var table = MemoryMarshal.Cast<byte, boot_e820_entry>(page.AsSpan(E820MAP, E820_MAX_ENTRIES_ZEROPAGE * Marshal.SizeOf<boot_e820_entry>()));
        for (int i = 0; i < plan.E820.Count; i++)
        {
            var entry = plan.E820[i];
            table[i] = new boot_e820_entry { addr = entry.Address, size = entry.Size, type = (uint)entry.Type };
        }

        return page;
    }
}
