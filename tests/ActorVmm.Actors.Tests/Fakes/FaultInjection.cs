using ActorVmm.Devices;
using ActorVmm.Devices.Platforms;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Actors.Tests.Fakes;

/// <summary>Told to a device wrapped by <see cref="FaultInjectingPlatform"/>: its slow path throws, as a device bug would.</summary>
public sealed record FailSlowPath
{
    public static FailSlowPath Instance { get; } = new();
}

/// <summary>
/// A platform whose device <paramref name="deviceName"/> fails its slow path on <see cref="FailSlowPath"/>; otherwise the
/// real device does everything (hot path, input, slow path, state), so a restart shows what the real device keeps.
/// </summary>
public sealed class FaultInjectingPlatform(IPlatform inner, string deviceName) : IPlatform
{
    public string Name => inner.Name;

    public ActorVmm.Machine.Layout.MemoryMap Map => inner.Map;

    public IReadOnlyList<DeviceDefinition> CreateDevices(PlatformContext context) =>
        [.. inner.CreateDevices(context).Select(d => d.Name == deviceName ? d with { Factory = c => new FaultInjectingDevice(d.Factory(c)) } : d)];

    private sealed class FaultInjectingDevice(IDevice device) : IDevice, IConsoleInputDevice, ISlowPathDevice
    {
        public string Name => device.Name;

        public IReadOnlyList<DeviceRegion> Regions => device.Regions;

        public void HandleTrap(int region, TrapAccess access) => device.HandleTrap(region, access);

        public void Reset() => device.Reset();

        public DeviceState CaptureState() => device.CaptureState();

        public void OnInputAvailable() => ((IConsoleInputDevice)device).OnInputAvailable();

        public object? OnSlowPath(object message) => message switch
        {
            FailSlowPath => throw new InvalidOperationException($"{Name} was told to fail on its slow path"),
            _ when device is ISlowPathDevice slow => slow.OnSlowPath(message),
            _ => DeviceSignals.NotUnderstood.Instance,
        };
    }
}
