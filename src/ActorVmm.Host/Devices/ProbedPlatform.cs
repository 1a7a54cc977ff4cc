using ActorVmm.Devices;
using ActorVmm.Devices.Platforms;
using ActorVmm.Machine.Layout;

namespace ActorVmm.Host.Devices;

/// <summary>
/// The default x86 platform (<see cref="X86Platform"/>) with its legacy port block wrapped by a
/// <see cref="FirstExitProbe"/>: the fleet guest's first instruction writes the POST port in that
/// block, so the probe times create-to-first-instruction.
/// </summary>
public sealed class ProbedPlatform(IPlatform inner, FirstExitProbe probe) : IPlatform
{
    /// <inheritdoc />
    public string Name => inner.Name;

    /// <inheritdoc />
    public MemoryMap Map => inner.Map;

    /// <inheritdoc />
    public IReadOnlyList<DeviceDefinition> CreateDevices(PlatformContext context) =>
        [.. inner.CreateDevices(context).Select(d => d.Name == X86Platform.LegacyName
            ? d with { Factory = c => probe.Wrap(d.Factory(c)) }
            : d)];
}
