using ActorVmm.Devices.Serial;
using ActorVmm.Devices.Tests.Support;
using FsCheck.Xunit;
using static ActorVmm.Devices.Serial.Uart16550Registers;

namespace ActorVmm.Devices.Tests.Serial;

public sealed class Serial16550PropertyTests
{
    private const int OperationKinds = 4;
    private const int ReadOperation = 0;
    private const int WriteOperation = 1;
    private const int EnqueueOperation = 2;

    /// <summary>Arbitrary guest and host traffic (any offset, any value) never throws and keeps the chip's invariants.</summary>
    [Property(MaxTest = 300)]
    public bool Arbitrary_register_traffic_never_throws_and_keeps_invariants((int Kind, int Offset, byte Value)[] operations)
    {
        var irq = new RecordingInterruptLine();
        var uart = new Serial16550(irq, new RecordingSerialOutput());
        foreach (var (kind, offset, value) in operations ?? [])
        {
            switch (Math.Abs(kind % OperationKinds))
            {
                case ReadOperation: uart.Read(offset); break;
                case WriteOperation: uart.Write(offset % (RegisterCount + 1), value); break;
                case EnqueueOperation: uart.Enqueue(value); break;
                default: uart.ReceiveBreak(); break;
            }

            if (uart.ReceiveCount > FifoDepth || uart.ReceiveSpace < 0 || irq.Level != uart.InterruptAsserted)
            {
                return false;
            }
        }

        // Restore DLAB = 0 so offset 5 is LSR, then check that the transmitter always reads empty.
        uart.Write(LcrOffset, 0);
        byte lsr = uart.Read(LsrOffset);
        return (lsr & (LsrThrEmptyBit | LsrTransmitterEmptyBit)) == (LsrThrEmptyBit | LsrTransmitterEmptyBit);
    }
}
