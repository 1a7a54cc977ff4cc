namespace ActorVmm.Host.Backends;

/// <summary>Decides whether KVM can be used here: <c>/dev/kvm</c> exists and opens read-write.</summary>
public static class KvmProbe
{
    /// <summary>The KVM device node.</summary>
    public const string DevicePath = "/dev/kvm";

    /// <summary>Environment variable that points the probe at another device node (tests, chroots).</summary>
    public const string DeviceVariable = "ACTORVMM_KVM_DEVICE";

    /// <summary>The device node probed: <see cref="DeviceVariable"/> when set, else <see cref="DevicePath"/>.</summary>
    public static string ConfiguredPath => Environment.GetEnvironmentVariable(DeviceVariable) is { Length: > 0 } path ? path : DevicePath;

    /// <summary>Tries to open the KVM device; <paramref name="reason"/> says why not when it cannot.</summary>
    public static bool IsAvailable(out string reason) => IsAvailable(ConfiguredPath, out reason);

    /// <summary>Tries to open <paramref name="devicePath"/> read-write, as KVM_CREATE_VM would need.</summary>
    public static bool IsAvailable(string devicePath, out string reason)
    {
        if (!OperatingSystem.IsLinux())
        {
            reason = "KVM needs Linux";
            return false;
        }

        if (!File.Exists(devicePath))
        {
            reason = $"{devicePath} does not exist (no KVM in this kernel or machine)";
            return false;
        }

        try
        {
            using var stream = new FileStream(devicePath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, bufferSize: 0);
            reason = string.Empty;
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            reason = $"{devicePath} cannot be opened: {ex.Message}";
            return false;
        }
    }
}
