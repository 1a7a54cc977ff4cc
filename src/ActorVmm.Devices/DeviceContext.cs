using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Memory;

namespace ActorVmm.Devices;

/// <summary>
/// What a device instance is given when it is created: its interrupt lines, a clock, the output
/// sink, the power control, and a way to hand slow-path work to its own actor without blocking.
/// </summary>
public sealed class DeviceContext
{
    private readonly IDeviceMailbox _mailbox;
    private readonly HashSet<int> _claimedLines = [];

    /// <summary>Creates a context for one incarnation of a device.</summary>
    /// <param name="deviceName">The device's name.</param>
    /// <param name="environment">The VM's services.</param>
    /// <param name="mailbox">The device's way to its own slow path.</param>
    /// <param name="input">Host input waiting for the guest (outlives the instance).</param>
    /// <param name="restoredState">The validated state this incarnation is rebuilt from; null for power-on state.</param>
    /// <param name="regions">The capabilities over the device's regions, shared by every incarnation (granted once registered); null for a device used outside a supervisor.</param>
    public DeviceContext(string deviceName, DeviceEnvironment environment, IDeviceMailbox mailbox, GuestInputQueue input, DeviceState? restoredState = null, DeviceRegionControls? regions = null)
    {
        RestoredState = restoredState;
        Regions = regions ?? new DeviceRegionControls();
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

    /// <summary>The capabilities over this device's own regions (PCI BARs move through them), granted by the supervisor.</summary>
    public DeviceRegionControls Regions { get; }

    /// <summary>The validated state this incarnation is rebuilt from (after a failure), or null for power-on state.</summary>
    public DeviceState? RestoredState { get; }

    /// <summary>
    /// The state to rebuild from when it is a <typeparamref name="TState"/>, else null (power-on). A state of another type
    /// cannot come from this device: it is refused with <see cref="DeviceStateException"/> so the supervisor falls back to power-on.
    /// </summary>
    public TState? Restore<TState>()
        where TState : DeviceState => RestoredState switch
        {
            null => null,
            TState state => state,
            var other => throw new DeviceStateException($"{DeviceName} cannot be rebuilt from a {other.GetType().Name}"),
        };

    /// <summary>The clock.</summary>
    public TimeProvider Time => Environment.Time;

    /// <summary>Guest console output (hot-path safe: never blocks).</summary>
    public IGuestOutput Output => Environment.Output;

    /// <summary>VM exit / shutdown / reset requests (hot-path safe: never blocks).</summary>
    public IVmPowerRequests Power => Environment.Power;

    /// <summary>Guest RAM for DMA (<see cref="GuestDma"/>): checked, RAM only, never a trap dispatch.</summary>
    public GuestDma Dma => Environment.Dma;


    /// <summary>
    /// This device's own source on GSI <paramref name="irq"/>, shared with nobody: the GSI's level is the OR of its
    /// sources, so another device on the same GSI (COM1 and COM3 on IRQ 4, PCI INTx) never drops this one's
    /// interrupt. Every incarnation of the device gets the same source; a power-on incarnation starts it deasserted,
    /// one rebuilt from <see cref="RestoredState"/> keeps the level its predecessor left.
    /// </summary>
    public IInterruptLine GetInterruptLine(int irq)
    {
        var line = Environment.InterruptLines(irq, DeviceName);
        lock (_claimedLines)
        {
            if (_claimedLines.Add(irq) && RestoredState is null)
            {
                line.SetLevel(false);
            }
        }

        return line;
    }

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
