using ActorVmm.Actors.Devices;
using ActorVmm.Actors.Devices.I8042;
using ActorVmm.Actors.Devices.Legacy;
using ActorVmm.Actors.Devices.Pic;
using ActorVmm.Actors.Devices.Rtc;
using ActorVmm.Actors.Devices.Serial;

namespace ActorVmm.Host.Devices;

/// <summary>
/// <see cref="PcDevices"/> as actor-layer device definitions: each factory builds a fresh instance
/// (what a supervised restart needs) from the VM's device environment. The exit port is the legacy
/// block's (it splits its 0xF0–0xFF range around 0xF4), so VMs are defined without the VM actor's own.
/// </summary>
public static class PcDeviceDefinitions
{
    /// <summary>The definitions; PIC and PIT are left out where the backend has them in the kernel.</summary>
    /// <param name="inKernelIrqchip">KVM: the PIC and PIT live in the kernel.</param>
    /// <param name="memorySize">Guest RAM, for the CMOS memory-size fields.</param>
    /// <param name="probe">Marked by the legacy block (POST port) to time the guest's first instruction.</param>
    public static IReadOnlyList<DeviceDefinition> Create(bool inKernelIrqchip, ulong memorySize, FirstExitProbe probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        var definitions = new List<DeviceDefinition>
        {
            SerialConsoleDevice.Definition(SerialPortSpec.Com1),
            new("i8042", c => new I8042Device(c.GetInterruptLine(PcDevices.KeyboardIrq), c.GetInterruptLine(PcDevices.AuxIrq), c.Power)),
            TimerDeviceDefinitions.Rtc(new CmosMemorySize(memorySize, 0)),
            new("legacy", c => probe.Wrap(new LegacyPortsDevice(LegacyPortOptions.Default, c.Power, c.Time))),
        };
        if (!inKernelIrqchip)
        {
            // A fresh 8259 pair per (re)start, plugged into the VM's controller slot so the emulator
            // takes interrupts from it.
            definitions.Add(new(TimerDeviceDefinitions.PicName, c =>
            {
                var pic = new PicDevice();
                c.Environment.InterruptController?.Attach(pic);
                return pic;
            }));
            definitions.Add(TimerDeviceDefinitions.Pit());
        }

        return definitions;
    }
}
