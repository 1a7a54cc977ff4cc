namespace ActorVmm.Actors.Devices;

/// <summary>
/// A device failed, on its slow path (its actor threw) or on its hot path (a trap handler threw on
/// a vCPU thread). Carries the device name so the supervisor's decider knows whom to restart.
/// </summary>
public sealed class DeviceFaultException : Exception
{
    /// <summary>Creates the exception.</summary>
    public DeviceFaultException(string deviceName, string path, string? region, Exception innerException)
        : base($"Device '{deviceName}' failed on its {path}{(region is null ? string.Empty : $" in region {region}")}: {innerException?.Message}", innerException)
    {
        DeviceName = deviceName;
        FaultPath = path;
        Region = region;
    }

    /// <summary>The failed device.</summary>
    public string DeviceName { get; }

    /// <summary>"hot path" or "slow path".</summary>
    public string FaultPath { get; }

    /// <summary>The region whose handler threw (hot path), or null.</summary>
    public string? Region { get; }
}
