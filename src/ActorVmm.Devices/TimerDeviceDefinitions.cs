using ActorVmm.Devices.Pic;
using ActorVmm.Devices.Pit;
using ActorVmm.Devices.Rtc;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Devices;

/// <summary>
/// Device definitions of the timed devices (the RTC and the PIT, whose actor ticks them through
/// <see cref="ITimedDevice"/>) and the PIC pair's port regions. Each factory call gives a power-on instance, or one
/// rebuilt from the context's restored state.
/// </summary>
public static class TimerDeviceDefinitions
{
    /// <summary>Device name of the RTC.</summary>
    public const string RtcName = "rtc";

    /// <summary>Device name of the PIC pair.</summary>
    public const string PicName = "pic";

    /// <summary>Device name of the PIT.</summary>
    public const string PitName = "pit";

    /// <summary>The MC146818 RTC/CMOS (x86: ports 0x70–0x71, IRQ 8; arm64: pass MMIO and 0x0101_0000).</summary>
    public static DeviceDefinition Rtc(CmosMemorySize memory, TrapBus bus = TrapBus.Pio, ulong baseAddress = RtcDevice.DefaultPioBase, int irq = RtcDevice.Irq)
    {
        ArgumentNullException.ThrowIfNull(memory);
        return new DeviceDefinition(
            RtcName,
            context => new RtcDevice(context.Time, context.GetInterruptLine(irq), memory, bus, baseAddress, context.Restore<RtcState>()));
    }

    /// <summary>The 8254 PIT with port B (ports 0x40–0x43 and 0x61, IRQ 0); only where the backend has no in-kernel PIT.</summary>
    public static DeviceDefinition Pit() =>
        new(PitName, context => new PitDevice(context.Time, context.GetInterruptLine(PitDevice.Irq), state: context.Restore<PitState>()));

    /// <summary>
    /// The PIC pair's ports (0x20, 0xA0, 0x4D0). The controller itself is the VM's: the caller creates
    /// it once and attaches it with <c>IVirtualMachine.AttachInterruptController</c>, because the
    /// emulator's interrupt path holds on to it; a restart therefore reuses the same object, loaded with
    /// the restored state (or reset to its power-on state), rather than building a new one. Only for
    /// backends without an in-kernel irqchip.
    /// </summary>
    public static DeviceDefinition Pic(PicDevice controller)
    {
        ArgumentNullException.ThrowIfNull(controller);
        return new DeviceDefinition(PicName, context =>
        {
            if (context.Restore<PicState>() is { } state)
            {
                controller.LoadState(state);
            }
            else
            {
                controller.Reset();
            }

            return controller;
        });
    }
}
