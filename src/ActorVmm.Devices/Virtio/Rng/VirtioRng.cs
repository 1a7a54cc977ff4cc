using System.Security.Cryptography;
using ActorVmm.Devices.Virtio.Mmio;
using ActorVmm.Devices.Virtio.Queues;
using Microsoft.Extensions.Logging;

namespace ActorVmm.Devices.Virtio.Rng;

/// <summary>
/// virtio-rng, the entropy device (virtio 1.2 §5.4): one request queue of device-writable buffers, each filled with
/// bytes from the host's CSPRNG (<see cref="RandomNumberGenerator"/>). No features, no configuration space. A buffer
/// gets at most <see cref="MaxBytesPerRequest"/> bytes (the used length says how many), so a huge buffer cannot
/// keep the slow path busy.
/// </summary>
public sealed class VirtioRng : IVirtioDeviceModel
{
    /// <summary>Queue index of requestq.</summary>
    public const int RequestQueue = 0;

    /// <summary>Entries per queue offered.</summary>
    public const ushort QueueSize = 256;

    /// <summary>Most bytes handed out per buffer.</summary>
    public const int MaxBytesPerRequest = 64 * 1024;

    private const int ChunkSize = 4096;

    private readonly RandomFill _fill;
    private readonly byte[] _chunk = new byte[ChunkSize];
    private IVirtioModelHost? _host;

    /// <summary>Creates the device; <paramref name="fill"/> replaces the CSPRNG in tests.</summary>
    public VirtioRng(RandomFill? fill = null)
    {
        _fill = fill ?? RandomNumberGenerator.Fill;
    }

    /// <inheritdoc />
    public VirtioDeviceType DeviceType => VirtioDeviceType.Entropy;

    /// <inheritdoc />
    public ulong Features => 0;

    /// <inheritdoc />
    public int QueueCount => 1;

    /// <inheritdoc />
    public ushort MaxQueueSize => QueueSize;

    /// <inheritdoc />
    public int ConfigLength => 0;

    /// <summary>A definition for a VM's device list: an entropy device at <paramref name="slot"/>.</summary>
    public static DeviceDefinition Definition(string name, VirtioMmioSlot slot, ILogger? logger = null) =>
        VirtioMmioDevice.Definition(name, slot, _ => new VirtioRng(), logger);

    /// <inheritdoc />
    public void ReadConfig(int offset, Span<byte> destination)
    {
        // No configuration space.
    }

    /// <inheritdoc />
    public void WriteConfig(int offset, ReadOnlySpan<byte> source)
    {
        // No configuration space.
    }

    /// <inheritdoc />
    public bool AcceptsFeatures(ulong driverFeatures) => true;

    /// <inheritdoc />
    public void Activate(IVirtioModelHost host) => _host = host;

    /// <inheritdoc />
    public void ProcessQueue(Virtqueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        while (queue.TryPop(out var chain))
        {
            Fill(queue, chain);
        }
    }

    /// <inheritdoc />
    public void Resubmit(Virtqueue queue, DescriptorChain chain) => Fill(queue, chain);

    /// <inheritdoc />
    public bool OnMessage(object message) => false;

    /// <inheritdoc />
    public void Reset() => _host = null;

    private void Fill(Virtqueue queue, DescriptorChain chain)
    {
        var dma = (_host ?? throw new InvalidOperationException("virtio-rng used before DRIVER_OK")).Dma;
        Span<byte> random = _chunk;
        int total = (int)Math.Min(chain.WritableLength, MaxBytesPerRequest);
        int written = 0;
        while (written < total)
        {
            var chunk = random[..Math.Min(ChunkSize, total - written)];
            _fill(chunk);
            int copied = chain.Write(dma, (ulong)written, chunk);
            if (copied == 0)
            {
                break;
            }

            written += copied;
        }

        queue.Complete(chain, (uint)written);
    }
}

/// <summary>Fills a span with random bytes (the host CSPRNG; something predictable in tests).</summary>
public delegate void RandomFill(Span<byte> destination);
