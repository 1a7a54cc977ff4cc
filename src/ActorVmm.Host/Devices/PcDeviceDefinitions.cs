using ActorVmm.Actors.Devices;
using ActorVmm.Actors.Devices.I8042;
using ActorVmm.Actors.Devices.Legacy;
using ActorVmm.Actors.Devices.Pic;
using ActorVmm.Actors.Devices.Pit;
using ActorVmm.Actors.Devices.Rtc;
using ActorVmm.Actors.Devices.Serial;

namespace ActorVmm.Host.Devices;

/// <summary>
/// <see cref="PcDevices"/> as actor-layer device definitions: each factory builds a fresh instance
/// (what a supervised restart needs) from the VM's device environment. The exit port is the VM
/// actor's own device, so the legacy block leaves 0xF4 to it.
/// </summary>
public static class PcDeviceDefinitions
{
    /// <summary>The definitions; PIC and PIT are left out where the backend has them in the kernel.</summary>
    /// <param name="inKernelIrqchip">KVM: the PIC and PIT live in the kernel.</param>
    /// <param name="probe">Marked by the legacy block (POST port) to time the guest's first instruction.</param>
    public static IReadOnlyList<DeviceDefinition> Create(bool inKernelIrqchip, FirstExitProbe probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        var definitions = new List<DeviceDefinition>
        {
            new(SerialPortSpec.Com1.Name, c => new Com1ConsoleDevice(c)),
            new("i8042", c => new I8042Device(c.GetInterruptLine(PcDevices.KeyboardIrq), c.GetInterruptLine(PcDevices.AuxIrq), new PowerRequests(c.Power))),
            new("rtc", c => new RtcDevice(c.Time, c.GetInterruptLine(RtcDevice.Irq), CmosMemorySize.None)),
            new("legacy", c => probe.Wrap(new LegacyPortsDevice(LegacyPortOptions.Default, new PowerRequests(c.Power), c.Time))),
        };
        if (!inKernelIrqchip)
        {
            // The actor layer offers no hook to attach the PIC as the emulator's interrupt
            // controller, so here it answers port I/O (IMR, ELCR) but delivers no interrupts yet.
            definitions.Add(new("pic", _ => new PicDevice()));
            definitions.Add(new("pit", c => new PitDevice(c.Time, c.GetInterruptLine(PitDevice.Irq))));
        }

        return definitions;
    }

    /// <summary>The devices' power requests as the VM actor's power control.</summary>
    private sealed class PowerRequests(IGuestPowerControl power) : IVmPowerRequests
    {
        public void RequestReset(PowerRequestSource source) => power.RequestReset();

        public void RequestStop(int exitStatus, PowerRequestSource source) => power.RequestExit(exitStatus);
    }
}
