using ActorVmm.Devices.Rtc;
using ActorVmm.Devices.Serial;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Devices.Platforms;

/// <summary>
/// kvmtool's arm64 platform devices (<see cref="Arm64MemoryMap"/>): the same 16550A and MC146818 classes as on
/// x86, registered on the MMIO bus with byte-wide registers at consecutive addresses — the UART at 0x0100_0000 (the
/// console, its interrupt wired directly rather than through MCR.OUT2) and the RTC's index/data pair at 0x0101_0000.
/// Each definition carries its device-tree node; <see cref="Arm64DeviceTree"/> writes the machine's DTB from them.
/// </summary>
public sealed class Arm64Platform : IPlatform
{
    /// <summary>The UART's interrupt line (a backend GSI; a GIC backend raises line N as SPI N).</summary>
    public const int UartIrq = 4;

    /// <summary>The RTC's interrupt line.</summary>
    public const int RtcIrq = 8;

    /// <summary>The first of the lines PCI INTA–INTD are swizzled onto (four consecutive lines).</summary>
    public const int FirstPciIntxIrq = 12;

    /// <summary>The first line handed to virtio-mmio transports, one each, in order.</summary>
    public const int FirstVirtioMmioIrq = 16;

    /// <summary>How many virtio-mmio transports get a line: lines 16–63, so every line fits a 64-SPI vGIC.</summary>
    public const int VirtioMmioIrqCount = 48;

    /// <summary>Device names.</summary>
    public const string UartName = "uart", RtcName = TimerDeviceDefinitions.RtcName;

    /// <summary>The shared instance.</summary>
    public static Arm64Platform Default { get; } = new();

    /// <summary>The console UART's placement.</summary>
    public static SerialPortSpec UartSpec { get; } = SerialPortSpec.Mmio(UartName, Arm64MemoryMap.UartBase, UartIrq);

    /// <summary>The lines of PCI INTA, INTB, INTC and INTD after the swizzle (PIRQA–D).</summary>
    public static IReadOnlyList<int> PciIntxIrqs { get; } = [.. Enumerable.Range(FirstPciIntxIrq, 4)];

    /// <summary>The lines virtio-mmio transports get, the i-th transport the i-th line.</summary>
    public static IReadOnlyList<int> VirtioMmioIrqs { get; } = [.. Enumerable.Range(FirstVirtioMmioIrq, VirtioMmioIrqCount)];

    /// <inheritdoc />
    public string Name => "arm64";

    /// <inheritdoc />
    public MemoryMap Map => MemoryMap.Arm64;

    /// <inheritdoc />
    public IReadOnlyList<DeviceDefinition> CreateDevices(PlatformContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Devices(context.Vm.Layout);
    }

    /// <summary>The platform's devices for a VM of <paramref name="layout"/>, each with its device-tree node.</summary>
    public static IReadOnlyList<DeviceDefinition> Devices(MemoryLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);

        // Nothing reads the PC memory-size fields on arm64; they still come from the VM's RAM slots, as on x86.
        var cmos = CmosMemorySize.FromRamSlots(layout.RamSlots);
        return
        [
            SerialConsoleDevice.Definition(UartSpec) with { DeviceTree = new Uart16550DeviceTreeNode(UartSpec, IsConsole: true) },
            TimerDeviceDefinitions.Rtc(cmos, TrapBus.Mmio, Arm64MemoryMap.RtcBase, RtcIrq) with { DeviceTree = new Mc146818DeviceTreeNode(Arm64MemoryMap.RtcBase, RtcIrq) },
        ];
    }
}
