using ActorVmm.Devices.I8042;
using ActorVmm.Devices.Tests.Support;
using FsCheck.Xunit;
using static ActorVmm.Devices.I8042.I8042Registers;

namespace ActorVmm.Devices.Tests.I8042;

public sealed class I8042PropertyTests
{
    private const int OffsetChoices = 3;
    private const int BadOffset = 2;

    /// <summary>Any mix of command and data bytes never throws; IBF never shows; the IRQ lines match OBF and the source.</summary>
    [Property(MaxTest = 300)]
    public bool Arbitrary_port_traffic_never_throws_and_keeps_interrupts_consistent((bool Write, int Port, byte Value)[] operations)
    {
        var irq1 = new RecordingInterruptLine(KeyboardIrq);
        var irq12 = new RecordingInterruptLine(AuxIrq);
        var kbc = new I8042Controller(irq1, irq12, new RecordingPowerRequests());
        foreach (var (write, port, value) in operations ?? [])
        {
            int offset = Math.Abs(port % OffsetChoices) switch
            {
                0 => DataOffset,
                1 => CommandOffset,
                _ => BadOffset,
            };
            if (write)
            {
                kbc.Write(offset, value);
            }
            else
            {
                kbc.Read(offset);
            }

            byte status = kbc.Read(CommandOffset);
            bool full = (status & StatusOutputFull) != 0;
            bool aux = (status & StatusAuxData) != 0;
            if ((status & StatusInputFull) != 0
                || (irq1.Level && !(full && !aux))
                || (irq12.Level && !(full && aux)))
            {
                return false;
            }
        }

        return true;
    }
}
