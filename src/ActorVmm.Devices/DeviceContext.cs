using ActorVmm.Machine.Interrupts;

namespace ActorVmm.Devices;

/// <summary>
/// What a device instance is given when it is created: its interrupt lines, a clock, the output
/// sink, the power control, and a way to hand slow-path work to its own actor without blocking.
/// </summary>
public sealed class DeviceContext
{
    private readonly IDeviceMailbox _mailbox;

    /// <summary>Creates a context for one incarnation of a device.</summary>
    public DeviceContext(string deviceName, DeviceEnvironment environment, IDeviceMailbox mailbox, GuestInputQueue input)
    {
        DeviceName = deviceName;
        Input = input ?? throw new ArgumentNullException(nameof(input));
        Environment = environment ?? throw new ArgumentNullException(nameof(environment));
        _mailbox = mailbox ?? throw new ArgumentNullException(nameof(mailbox));
    }

    /// <summary>The device's name.</summary>
    public string DeviceName { get; }

    /// <summary>The VM's shared services.</summary>
    public DeviceEnvironment Environment { get; }

    /// <summary>Host input waiting for the guest; outlives this instance (see <see cref="IConsoleInputDevice"/>).</summary>
    public GuestInputQueue Input { get; }

    /// <summary>The clock.</summary>
    public TimeProvider Time => Environment.Time;

    /// <summary>Guest console output (hot-path safe: never blocks).</summary>
    public IGuestOutput Output => Environment.Output;

    /// <summary>VM exit / shutdown / reset requests (hot-path safe: never blocks).</summary>
    public IVmPowerRequests Power => Environment.Power;

    /// <summary>The interrupt line for an IRQ number.</summary>
    public IInterruptLine GetInterruptLine(int irq) => Environment.InterruptLines(irq);

    /// <summary>
    /// Plugs a userspace interrupt controller (the 8259 pair) into the VM; every incarnation of the
    /// PIC device calls it. False when the backend has an in-kernel irqchip (the device is then unused).
    /// </summary>
    public bool AttachInterruptController(IInterruptController controller)
    {
        if (Environment.InterruptController is not { } slot)
        {
            return false;
        }

        slot.Attach(controller);
        return true;
    }

    /// <summary>Hands slow-path work to the device's actor (<see cref="ISlowPathDevice"/>). Safe from vCPU threads: it never blocks.</summary>
    public void Post(object message) => _mailbox.Post(message);
}
