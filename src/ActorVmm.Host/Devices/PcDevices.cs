using ActorVmm.Actors.Devices;
using ActorVmm.Actors.Devices.I8042;
using ActorVmm.Actors.Devices.Legacy;
using ActorVmm.Actors.Devices.Pic;
using ActorVmm.Actors.Devices.Pit;
using ActorVmm.Actors.Devices.Rtc;
using ActorVmm.Actors.Devices.Serial;
using ActorVmm.Kvm.Machine;
using Microsoft.Extensions.Logging;

namespace ActorVmm.Host.Devices;

/// <summary>
/// The PC legacy device set of guest-conventions.md that actorvmm gives every x86 VM: COM1 (16550A),
/// i8042, MC146818 RTC, the legacy port block (POST, port 0x92, exit port 0xF4), and, where the
/// backend has no in-kernel irqchip, the 8259 pair and 8254 PIT.
/// </summary>
public static class PcDevices
{
    /// <summary>i8042 keyboard interrupt.</summary>
    public const int KeyboardIrq = 1;

    /// <summary>i8042 aux (mouse) interrupt.</summary>
    public const int AuxIrq = 12;

    /// <summary>Creates fresh device instances for a VM run directly on the machine layer.</summary>
    /// <param name="vm">The VM (its interrupt lines; the PIC is attached as its controller on the emulator).</param>
    /// <param name="console">COM1's transmitter output.</param>
    /// <param name="power">Where exit-port writes and reset requests go.</param>
    /// <param name="time">The clock of the RTC and PIT.</param>
    /// <param name="logger">Logger of the legacy port block.</param>
    public static IReadOnlyList<IDevice> Create(IVirtualMachine vm, IGuestOutput console, IVmPowerRequests power, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(vm);
        var devices = new List<IDevice>
        {
            new SerialDevice(SerialPortSpec.Com1, vm.GetInterruptLine(SerialPortSpec.Com1.Irq), console),
            new I8042Device(vm.GetInterruptLine(KeyboardIrq), vm.GetInterruptLine(AuxIrq), power),
            new RtcDevice(time, vm.GetInterruptLine(RtcDevice.Irq), new CmosMemorySize(vm.Memory.TotalSize, 0)),
            new LegacyPortsDevice(LegacyPortOptions.Default, power, time, logger),
        };
        if (!vm.HasInKernelIrqchip)
        {
            var pic = new PicDevice();
            vm.AttachInterruptController(pic);
            devices.Add(pic);
            devices.Add(new PitDevice(time, vm.GetInterruptLine(PitDevice.Irq)));
        }

        return devices;
    }
}
