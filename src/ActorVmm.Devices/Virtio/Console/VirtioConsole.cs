using System.Buffers.Binary;
using ActorVmm.Devices.Virtio.Mmio;
using ActorVmm.Devices.Virtio.Queues;
using Microsoft.Extensions.Logging;

namespace ActorVmm.Devices.Virtio.Console;

/// <summary>
/// virtio-console (virtio 1.2 §5.3), port 0 only (no VIRTIO_CONSOLE_F_MULTIPORT): receiveq carries host input to the
/// guest, transmitq carries guest output to an <see cref="IGuestOutput"/>, and the emergency-write configuration field
/// (VIRTIO_CONSOLE_F_EMERG_WRITE) writes single bytes. Host input waits in the device's <see cref="GuestInputQueue"/>,
/// outside the instance, and leaves it only as far as the guest has given receive buffers: a byte is taken right
/// before it is copied into a checked buffer and returned with the used entry, so input is never lost, duplicated or
/// reordered, and a guest that gives no buffers holds it back (the queue's bound pushes back on the host).
/// </summary>
public sealed class VirtioConsole : IVirtioDeviceModel, IConsoleInputDevice
{
    /// <summary>Queue index of receiveq (port 0): host to guest.</summary>
    public const int ReceiveQueue = 0;

    /// <summary>Queue index of transmitq (port 0): guest to host.</summary>
    public const int TransmitQueue = 1;

    /// <summary>Entries per queue offered.</summary>
    public const ushort QueueSize = 256;

    /// <summary>VIRTIO_CONSOLE_F_SIZE (0): cols and rows are valid (not offered: there is no terminal size).</summary>
    public const ulong FeatureSize = 1UL << 0;

    /// <summary>VIRTIO_CONSOLE_F_MULTIPORT (1): several ports and a control queue (not offered).</summary>
    public const ulong FeatureMultiport = 1UL << 1;

    /// <summary>VIRTIO_CONSOLE_F_EMERG_WRITE (2): emerg_wr writes a byte before the queues work.</summary>
    public const ulong FeatureEmergencyWrite = 1UL << 2;

    /// <summary>Configuration offset of le16 cols.</summary>
    public const int ColumnsOffset = 0;

    /// <summary>Configuration offset of le16 rows.</summary>
    public const int RowsOffset = 2;

    /// <summary>Configuration offset of le32 max_nr_ports.</summary>
    public const int MaxPortsOffset = 4;

    /// <summary>Configuration offset of le32 emerg_wr.</summary>
    public const int EmergencyWriteOffset = 8;

    /// <summary>Bytes of configuration space: cols, rows, max_nr_ports, emerg_wr.</summary>
    public const int ConfigBytes = 12;

    private const int ChunkSize = 4096;

    private readonly GuestInputQueue _input;
    private readonly IGuestOutput _output;
    private readonly byte[] _chunk = new byte[ChunkSize];
    private IVirtioModelHost? _host;

    /// <summary>Creates the console: input from <paramref name="input"/>, output to <paramref name="output"/>.</summary>
    public VirtioConsole(GuestInputQueue input, IGuestOutput output)
    {
        _input = input ?? throw new ArgumentNullException(nameof(input));
        _output = output ?? throw new ArgumentNullException(nameof(output));
    }

    /// <inheritdoc />
    public VirtioDeviceType DeviceType => VirtioDeviceType.Console;

    /// <inheritdoc />
    public ulong Features => FeatureEmergencyWrite;

    /// <inheritdoc />
    public int QueueCount => 2;

    /// <inheritdoc />
    public ushort MaxQueueSize => QueueSize;

    /// <inheritdoc />
    public int ConfigLength => ConfigBytes;

    /// <summary>A definition for a VM's device list: the VM's console (its input queue and output sink) at <paramref name="slot"/>.</summary>
    public static DeviceDefinition Definition(string name, VirtioMmioSlot slot, ILogger? logger = null) =>
        VirtioMmioDevice.Definition(name, slot, context => new VirtioConsole(context.Input, context.Output), logger);

    /// <inheritdoc />
    public void ReadConfig(int offset, Span<byte> destination)
    {
        Span<byte> config = stackalloc byte[ConfigBytes];
        config.Clear();

        // No terminal size (F_SIZE not offered); one port; emerg_wr reads 0.
        BinaryPrimitives.WriteUInt32LittleEndian(config[MaxPortsOffset..], 1);
        config.Slice(offset, destination.Length).CopyTo(destination);
    }

    /// <inheritdoc />
    public void WriteConfig(int offset, ReadOnlySpan<byte> source)
    {
        // emerg_wr: the low byte of a write that starts at the field is one character of output.
        if (offset == EmergencyWriteOffset && source.Length > 0)
        {
            _output.Write(source[..1]);
        }
    }

    /// <inheritdoc />
    public bool AcceptsFeatures(ulong driverFeatures) => true;

    /// <inheritdoc />
    public void Activate(IVirtioModelHost host) => _host = host;

    /// <inheritdoc />
    public void ProcessQueue(Virtqueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        if (queue.Index == TransmitQueue)
        {
            while (queue.TryPop(out var chain))
            {
                Transmit(queue, chain);
            }
        }
        else
        {
            DeliverInput(queue);
        }
    }

    /// <inheritdoc />
    public void Resubmit(Virtqueue queue, DescriptorChain chain)
    {
        ArgumentNullException.ThrowIfNull(queue);
        if (queue.Index == TransmitQueue)
        {
            Transmit(queue, chain);
        }
        else
        {
            Receive(queue, chain);
        }
    }

    /// <summary>Host input is waiting: hand it to the guest's receive buffers (slow path, under the core's lock).</summary>
    public void OnInputAvailable()
    {
        if (_host?.Queue(ReceiveQueue) is { } receive)
        {
            DeliverInput(receive);
        }
    }

    /// <inheritdoc />
    public bool OnMessage(object message) => false;

    /// <inheritdoc />
    public void Reset() => _host = null;

    private IVirtioModelHost Host => _host ?? throw new InvalidOperationException("virtio-console used before DRIVER_OK");

    private void DeliverInput(Virtqueue receive)
    {
        bool took = false;
        while (!_input.IsEmpty && receive.TryPop(out var chain))
        {
            Receive(receive, chain);
            took = true;
        }

        if (took)
        {
            // The input queue has room again: let whoever feeds it move more in.
            Host.Post(DeviceSignals.InputSpaceAvailable.Instance);
        }
    }

    private void Receive(Virtqueue receive, DescriptorChain chain)
    {
        var dma = Host.Dma;
        Span<byte> bytes = _chunk;
        uint written = 0;
        while (written < chain.WritableLength)
        {
            int wanted = (int)Math.Min(ChunkSize, chain.WritableLength - written);
            int n = 0;
            while (n < wanted && _input.TryTake(out byte b))
            {
                bytes[n++] = b;
            }

            if (n == 0)
            {
                break;
            }

            // The chain's buffers were checked to be RAM, so this copy completes: taken bytes are not lost.
            written += (uint)chain.Write(dma, written, bytes[..n]);
        }

        receive.Complete(chain, written);
    }

    private void Transmit(Virtqueue transmit, DescriptorChain chain)
    {
        var dma = Host.Dma;
        Span<byte> bytes = _chunk;
        ulong offset = 0;
        while (offset < chain.ReadableLength)
        {
            int n = chain.Read(dma, offset, bytes[..(int)Math.Min(ChunkSize, chain.ReadableLength - offset)]);
            if (n == 0)
            {
                break;
            }

            _output.Write(bytes[..n]);
            offset += (ulong)n;
        }

        // Nothing was written into the chain.
        transmit.Complete(chain, 0);
    }
}
