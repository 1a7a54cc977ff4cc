using Akka.Configuration;

namespace ActorVmm.Actors.Supervision;

/// <summary>The restart policy of device supervisors, read from <c>actorvmm.supervision</c> in config/akka.hocon.</summary>
/// <param name="MaxRestarts">Restarts allowed within <paramref name="Within"/>; one more failure quarantines the device for good.</param>
/// <param name="Within">The sliding window the restarts are counted in.</param>
/// <param name="DeviceDispatcher">Dispatcher id for device actors (used when configured).</param>
public sealed record SupervisionSettings(int MaxRestarts, TimeSpan Within, string DeviceDispatcher = SupervisionSettings.DeviceDispatcherId)
{
    /// <summary>The dispatcher id config/akka.hocon defines for device actors.</summary>
    public const string DeviceDispatcherId = "actorvmm.device-dispatcher";

    /// <summary>The dispatcher id config/akka.hocon defines for blocking I/O (console sinks).</summary>
    public const string BlockingIoDispatcherId = "actorvmm.blocking-io-dispatcher";

    /// <summary>The config path of the section.</summary>
    public const string ConfigPath = "actorvmm.supervision";

    /// <summary>Used when the config has no <c>actorvmm.supervision</c> section: 3 restarts within 10 seconds.</summary>
    public static SupervisionSettings Default { get; } = new(3, TimeSpan.FromSeconds(10));

    /// <summary>Reads the section, falling back to <see cref="Default"/> per missing key.</summary>
    /// <exception cref="ConfigurationException">A value is out of range.</exception>
    public static SupervisionSettings FromConfig(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var section = config.GetConfig(ConfigPath);
        if (section is null || section.IsEmpty)
        {
            return Default;
        }

        int maxRestarts = section.GetInt("max-restarts", Default.MaxRestarts);
        var within = section.GetTimeSpan("within", Default.Within);
        if (maxRestarts < 0)
        {
            throw new ConfigurationException($"{ConfigPath}.max-restarts must be 0 or more, not {maxRestarts}");
        }

        if (within <= TimeSpan.Zero)
        {
            throw new ConfigurationException($"{ConfigPath}.within must be a positive duration, not {within}");
        }

        return new SupervisionSettings(maxRestarts, within);
    }
}
