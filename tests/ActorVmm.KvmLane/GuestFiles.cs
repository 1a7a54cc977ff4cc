namespace ActorVmm.KvmLane;

/// <summary>
/// Saves the lane guests as flat binaries and loads them back, so the run inside nested KVM
/// (where JIT-compiling the Iced assembler under TCG costs tens of seconds) only reads files.
/// </summary>
public static class GuestFiles
{
    /// <summary>The manifest listing guest names in run order.</summary>
    public const string ManifestName = "guests.txt";

    /// <summary>Writes the KVM-only checks' guest images (not listed in the manifest).</summary>
    public static void SaveImages(string directory, IReadOnlyDictionary<string, byte[]> images)
    {
        Directory.CreateDirectory(directory);
        foreach (var (name, image) in images)
        {
            File.WriteAllBytes(Path.Combine(directory, name + ".bin"), image);
        }
    }

    /// <summary>Loads named images written by <see cref="SaveImages"/>.</summary>
    /// <exception cref="InvalidDataException">An image is missing or unreadable.</exception>
    public static IReadOnlyDictionary<string, byte[]> LoadImages(string directory, IEnumerable<string> names)
    {
        try
        {
            return names.ToDictionary(name => name, name => File.ReadAllBytes(Path.Combine(directory, name + ".bin")));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"Cannot load check images from '{directory}': {ex.Message}", ex);
        }
    }

    /// <summary>Writes every lane guest to <paramref name="directory"/> plus the manifest.</summary>
    public static void Save(string directory, IEnumerable<LaneGuest> guests)
    {
        Directory.CreateDirectory(directory);
        var names = new List<string>();
        foreach (var guest in guests)
        {
            File.WriteAllBytes(Path.Combine(directory, guest.Name + ".bin"), guest.Image);
            names.Add(guest.Name);
        }

        File.WriteAllLines(Path.Combine(directory, ManifestName), names);
    }

    /// <summary>Loads the guests named in the manifest, in order.</summary>
    /// <exception cref="InvalidDataException">The manifest or a guest file is missing or unreadable.</exception>
    public static IReadOnlyList<LaneGuest> Load(string directory)
    {
        try
        {
            return File.ReadAllLines(Path.Combine(directory, ManifestName))
                .Where(name => name.Length > 0)
                .Select(name => new LaneGuest(name, File.ReadAllBytes(Path.Combine(directory, name + ".bin"))))
                .ToArray();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"Cannot load lane guests from '{directory}': {ex.Message}", ex);
        }
    }
}
