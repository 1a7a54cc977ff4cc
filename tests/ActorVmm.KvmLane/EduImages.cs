using ActorVmm.TestGuests;

namespace ActorVmm.KvmLane;

/// <summary>
/// The VFIO step's guest (tests/nested-kvm/run.sh): <see cref="EduGuest"/> as a flat binary for <c>actorvmm run --image</c>
/// and wrapped as firmware for the reference QEMU's <c>-bios</c>; saved with the lane guests, run by the lane script.
/// </summary>
public static class EduImages
{
    /// <summary>The flat binary's name (saved as NAME.bin).</summary>
    public const string FlatName = "edu-vfio";

    /// <summary>The QEMU firmware image's name (saved as NAME.bin).</summary>
    public const string BiosName = "edu-vfio-bios";

    /// <summary>The expected transcript's file name: the checked marker lines, one a line (<see cref="EduGuest.ExpectedMarkers"/>).</summary>
    public const string ExpectedName = "edu-vfio.expected";

    /// <summary>Writes the expected transcript to <paramref name="directory"/>.</summary>
    public static void SaveExpected(string directory) =>
        File.WriteAllLines(Path.Combine(directory, ExpectedName), EduGuest.ExpectedMarkers);

    /// <summary>Both images by name.</summary>
    public static IReadOnlyDictionary<string, byte[]> Build()
    {
        byte[] flat = EduGuest.Build(PciConfigCycles.Pc);
        return new Dictionary<string, byte[]>(StringComparer.Ordinal) { [FlatName] = flat, [BiosName] = FlatBiosImage.Wrap(flat) };
    }
}
