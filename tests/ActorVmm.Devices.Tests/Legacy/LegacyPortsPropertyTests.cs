using ActorVmm.Devices.Legacy;
using ActorVmm.Devices.Tests.Support;
using FsCheck.Xunit;

namespace ActorVmm.Devices.Tests.Legacy;

public sealed class LegacyPortsPropertyTests
{
    private static readonly int[] AccessSizes = [1, 2, 4];

    /// <summary>Any port, any size, any value: no exception, and reads fit in the access size.</summary>
    [Property(MaxTest = 300)]
    public bool Arbitrary_accesses_never_throw_and_reads_fit_the_access_size((bool Write, ushort Port, int SizeChoice, uint Value)[] operations)
    {
        var ports = new LegacyPorts(LegacyPortOptions.Default, new RecordingPowerRequests(), new ManualTimeProvider());
        foreach (var (write, port, sizeChoice, value) in operations ?? [])
        {
            int size = AccessSizes[Math.Abs(sizeChoice % AccessSizes.Length)];
            if (write)
            {
                ports.Write(port, size, value);
            }
            else if (ports.Read(port, size) > (1UL << (8 * size)) - 1)
            {
                return false;
            }
        }

        return true;
    }
}
