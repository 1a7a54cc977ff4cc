using ActorVmm.TestGuests;

namespace ActorVmm.Host.Tests.EndToEnd;

/// <summary>
/// The nested lane's VFIO guest (<see cref="EduGuest"/>) under <c>actorvmm run</c> without the edu device: it must say so in
/// a failed marker line on COM1 and exit with its not-found status, so a lane whose passthrough lost the device fails
/// loudly. (With the device, the lane itself is the test: tests/nested-kvm/run.sh.)
/// </summary>
public sealed class EduGuestRunTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("actorvmm-edu-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Without_the_edu_device_on_bus_0_the_guest_prints_a_failed_slot_marker_and_exits_not_found()
    {
        string guest = Path.Combine(_dir, "edu.bin");
        await File.WriteAllBytesAsync(guest, EduGuest.Build(PciConfigCycles.Pc));

        var (code, stdout, stderr) = await ActorVmmProcess.RunAsync(_dir, "run", "--image", guest, "--mem", "1M", "--backend", "emulator");

        Assert.True(code == EduGuest.NotFoundStatus, $"exit status 0x{code:X2}; stderr: {stderr}");
        Assert.Contains($"{EduGuest.MarkerPrefix}{EduGuest.SlotTag} {PciConfigCycles.AllOnes:x8} {EduGuest.Failed}\n", stdout, StringComparison.Ordinal);
    }
}
