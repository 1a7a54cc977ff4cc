using ActorVmm.Devices;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Actors.Tests.Fakes;

/// <summary>A one-port test device the guest polls: reads 0 until the test flips it, counting reads.</summary>
public sealed class StopSwitch
{
    private long _reads;
    private volatile bool _flipped;

    public long Reads => Interlocked.Read(ref _reads);

    public void Flip() => _flipped = true;

    public DeviceDefinition Definition(ushort port) => new("switch", _ => new Device(this, port));

    private sealed class Device(StopSwitch owner, ushort port) : IDevice
    {
        public string Name => "switch";

        public IReadOnlyList<DeviceRegion> Regions { get; } = [new DeviceRegion(TrapBus.Pio, port, 1)];

        public void HandleTrap(int region, TrapAccess access)
        {
            if (!access.IsWrite)
            {
                // Read the flag before counting: the guest's final read (which sees 1) is still one iteration.
                bool flipped = owner._flipped;
                Interlocked.Increment(ref owner._reads);
                access.SetValue(flipped ? 1u : 0u);
            }
        }

        public void Reset()
        {
        }

        public DeviceState CaptureState() => NoDeviceState.Instance;
    }
}
