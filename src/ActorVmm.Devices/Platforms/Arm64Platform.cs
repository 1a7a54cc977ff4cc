using ActorVmm.Devices.Rtc;
using ActorVmm.Devices.Serial;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Devices.Platforms;

/// <summary>
/// kvmtool's arm64 platform devices (<see cref="Arm64MemoryMap"/>): the same 16550A and MC146818 classes as on
/// x86, registered on the MMIO bus with byte-wide registers at consecutive addresses — the UART at 0x0100_0000 (the
/// console, its interrupt wired directly rather than through MCR.OUT2) and the RTC's index/data pair at 0x0101_0000.
/// </summary>
public sealed class Arm64Platform : IPlatform
{
    /// <summary>The UART's interrupt line (a backend GSI; kvmtool allocates the first free SPI).</summary>
    public const int UartIrq = 4;

    /// <summary>The RTC's interrupt line.</summary>
    public const int RtcIrq = 8;

    /// <summary>Device names.</summary>
    public const string UartName = "uart", RtcName = TimerDeviceDefinitions.RtcName;

    /// <summary>The shared instance.</summary>
    public static Arm64Platform Default { get; } = new();

    /// <summary>The console UART's placement.</summary>
    public static SerialPortSpec UartSpec { get; } = SerialPortSpec.Mmio(UartName, Arm64MemoryMap.UartBase, UartIrq);

    /// <inheritdoc />
    public string Name => "arm64";

    /// <inheritdoc />
    public MemoryMap Map => MemoryMap.Arm64;

    /// <inheritdoc />
    public IReadOnlyList<DeviceDefinition> CreateDevices(PlatformContext context)
    {
        ArgumentNullException.ThrowIfNull(context);

        // Nothing reads the PC memory-size fields on arm64; they still come from the VM's RAM slots, as on x86.
        var cmos = CmosMemorySize.FromRamSlots(context.Vm.Layout.RamSlots);
        return
        [
            SerialConsoleDevice.Definition(UartSpec),
            TimerDeviceDefinitions.Rtc(cmos, TrapBus.Mmio, Arm64MemoryMap.RtcBase, RtcIrq),
        ];
    }
}
