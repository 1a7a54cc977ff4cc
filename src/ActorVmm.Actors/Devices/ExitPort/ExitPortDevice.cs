using ActorVmm.Kvm.Traps;

namespace ActorVmm.Actors.Devices.ExitPort;

/// <summary>
/// The exit port (guest-conventions.md): a byte written to port 0xF4 stops the VM with that exit
/// status. Reads answer as an empty bus. Stateless, so it is trivially restartable.
/// </summary>
public sealed class ExitPortDevice : IDevice
{
    /// <summary>The exit port (the port QEMU's isa-debug-exit uses, without its (v &lt;&lt; 1) | 1 encoding).</summary>
    public const ushort Port = 0xF4;

    /// <summary>The register is one byte wide; wider writes use the low byte.</summary>
    public const ulong StatusMask = 0xFF;

    /// <summary>Reads return the empty-bus value.</summary>
    public const ulong EmptyBusValue = ulong.MaxValue;

    private readonly IVmPowerRequests _power;

    /// <summary>Creates the device.</summary>
    public ExitPortDevice(IVmPowerRequests power) => _power = power ?? throw new ArgumentNullException(nameof(power));

    /// <summary>The device name used by VMs.</summary>
    public static string DeviceName => "exit-port";

    /// <summary>A definition for a VM's device list.</summary>
    public static DeviceDefinition Definition { get; } = new(DeviceName, context => new ExitPortDevice(context.Power));

    /// <inheritdoc />
    public string Name => DeviceName;

    /// <inheritdoc />
    public IReadOnlyList<DeviceRegion> Regions { get; } = [new DeviceRegion(TrapBus.Pio, Port, 1)];

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
    public void Reset()
    {
        // No state.
    }
}
