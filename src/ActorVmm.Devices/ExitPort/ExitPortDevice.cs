using ActorVmm.Machine.Traps;

namespace ActorVmm.Devices.ExitPort;

/// <summary>
/// The exit port (guest-conventions.md): a byte written to port 0xF4 (configurable) stops the VM with that
/// exit status. QEMU's isa-debug-exit uses the same port but reports (v &lt;&lt; 1) | 1; here the status is v
/// itself, so a guest that writes 0 exits 0. Reads answer as an empty bus. Stateless (<see cref="ExitPortState"/> is
/// empty), so it is trivially restartable. It is the only exit-port implementation: the legacy port block leaves the port free for it.
/// </summary>
public sealed class ExitPortDevice : IDevice
{
    /// <summary>The default exit port (the port QEMU's isa-debug-exit uses, without its (v &lt;&lt; 1) | 1 encoding).</summary>
    public const ushort Port = 0xF4;

    /// <summary>The register is one byte wide; wider writes use the low byte.</summary>
    public const ulong StatusMask = 0xFF;

    /// <summary>Reads return the empty-bus value.</summary>
    public const ulong EmptyBusValue = ulong.MaxValue;

    private readonly IVmPowerRequests _power;

    /// <summary>Creates the device on <paramref name="port"/>.</summary>
    public ExitPortDevice(IVmPowerRequests power, ushort port = Port)
    {
        _power = power ?? throw new ArgumentNullException(nameof(power));
        Regions = [new DeviceRegion(TrapBus.Pio, port, 1)];
    }

    /// <summary>The device name used by VMs.</summary>
    public static string DeviceName => "exit-port";

    /// <summary>A definition for a VM's device list, on the default port.</summary>
    public static DeviceDefinition Definition { get; } = At(Port);

    /// <inheritdoc />
    public string Name => DeviceName;

    /// <inheritdoc />
    public IReadOnlyList<DeviceRegion> Regions { get; }

    /// <summary>A definition for an exit port on <paramref name="port"/>.</summary>
    public static DeviceDefinition At(ushort port) => new(DeviceName, context =>
    {
        // Nothing to rebuild from, but another device's state is still refused (DeviceContext.Restore).
        _ = context.Restore<ExitPortState>();
        return new ExitPortDevice(context.Power, port);
    });

    /// <inheritdoc />
    public void HandleTrap(int region, TrapAccess access)
    {
        if (access.IsWrite)
        {
            _power.RequestStop((int)(access.Value & StatusMask), PowerRequestSource.ExitPort);
        }
        else
        {
            access.SetValue(EmptyBusValue);
        }
    }

    /// <inheritdoc />
    public DeviceState CaptureState() => new ExitPortState();

    /// <inheritdoc />
    public void Reset()
    {
        // No state.
    }
}
