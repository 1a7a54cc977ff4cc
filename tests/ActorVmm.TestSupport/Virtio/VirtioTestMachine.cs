using ActorVmm.Devices;
using ActorVmm.Devices.Virtio;
using ActorVmm.Devices.Virtio.Mmio;
using ActorVmm.Machine.Memory;

namespace ActorVmm.TestSupport.Virtio;

/// <summary>
/// A virtio-mmio device in a small machine without a VM: real guest RAM at 0, the device on a real trap bus, its slow
/// path behind a <see cref="SlowPathMailbox"/>, its interrupt line probed, and a <see cref="VirtioMmioDriver"/> to drive
/// it. <see cref="Rebuild"/> creates the next incarnation from a captured state, as the supervisor does after a failure.
/// </summary>
public sealed class VirtioTestMachine : IDisposable
{
    /// <summary>Where the device's window sits.</summary>
    public static readonly VirtioMmioSlot Slot = new(0xD000_0000, VirtioMmioRegisters.WindowSize, 5);

    private readonly Func<DeviceContext, IVirtioDeviceModel> _createModel;
    private readonly IDeviceMailbox? _slowPath;

    /// <summary>Creates the machine with <paramref name="ramBytes"/> of RAM and a first, power-on incarnation of the device.</summary>
    /// <param name="ramBytes">Guest RAM.</param>
    /// <param name="createModel">Builds the device model of each incarnation.</param>
    /// <param name="output">Console output (none by default).</param>
    /// <param name="restored">The state the first incarnation is rebuilt from; null for power-on.</param>
    /// <param name="slowPath">Where the device posts its slow-path work (a device actor); null: <see cref="Mailbox"/>, run by the test.</param>
    public VirtioTestMachine(ulong ramBytes, Func<DeviceContext, IVirtioDeviceModel> createModel, IGuestOutput? output = null, DeviceState? restored = null, IDeviceMailbox? slowPath = null)
    {
        _createModel = createModel ?? throw new ArgumentNullException(nameof(createModel));
        _slowPath = slowPath;
        Memory = GuestMemory.Create(ramBytes);
        Dma = new GuestDma(Memory);
        Output = output ?? NullGuestOutput.Instance;
        Device = Create(restored);
        Driver = new VirtioMmioDriver(new DeviceBus(Device), Slot.Base);
    }

    /// <summary>Guest RAM.</summary>
    public GuestMemory Memory { get; }

    /// <summary>Checked access to it.</summary>
    public GuestDma Dma { get; }

    /// <summary>The device's slow path.</summary>
    public SlowPathMailbox Mailbox { get; } = new();

    /// <summary>Host console input waiting for the guest (outlives incarnations, as in the device setup).</summary>
    public GuestInputQueue Input { get; } = new();

    /// <summary>The interrupt line, probed.</summary>
    public IrqLineProbe Line { get; } = new(Slot.Irq);

    /// <summary>Where console output goes.</summary>
    public IGuestOutput Output { get; }

    /// <summary>The current incarnation.</summary>
    public VirtioMmioDevice Device { get; private set; }

    /// <summary>A driver talking to the current incarnation.</summary>
    public VirtioMmioDriver Driver { get; private set; }

    /// <summary>Delivers everything the device posted to its slow path.</summary>
    public int RunSlowPath() => Mailbox.RunPending(Device);

    /// <summary>Replaces the device with a new incarnation built from <paramref name="state"/> (null: power-on); the old one's mailbox messages are kept.</summary>
    public VirtioMmioDevice Rebuild(DeviceState? state)
    {
        Device = Create(state);
        Driver = new VirtioMmioDriver(new DeviceBus(Device), Slot.Base);
        return Device;
    }

    /// <inheritdoc />
    public void Dispose() => Memory.Dispose();

    private VirtioMmioDevice Create(DeviceState? state)
    {
        var environment = new DeviceEnvironment("virtio-test", (_, _) => Line, TimeProvider.System, Output, NoPowerRequests.Instance, Dma);
        var context = new DeviceContext("virtio0", environment, _slowPath ?? Mailbox, Input, state);
        return new VirtioMmioDevice("virtio0", Slot, _createModel(context), context);
    }

    private sealed class NoPowerRequests : IVmPowerRequests
    {
        public static NoPowerRequests Instance { get; } = new();

        public void RequestReset(PowerRequestSource source)
        {
        }

        public void RequestStop(int exitStatus, PowerRequestSource source)
        {
        }
    }
}
