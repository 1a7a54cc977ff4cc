using ActorVmm.Devices;

namespace ActorVmm.Host.Devices;

/// <summary>
/// Guest console output appended to a file (--virtio-console-log): a virtio console writes here from its device actor
/// (transmitq work is slow path), so a write goes straight to the file (unbuffered), and the file holds every byte
/// the guest handed over once its used entry is written. A failing file is reported once and dropped; the guest goes on.
/// </summary>
public sealed class FileGuestOutput : IGuestOutput, IDisposable
{
    private readonly Lock _lock = new();
    private readonly FileStream _file;
    private readonly Action<string> _onFailure;
    private bool _failed;

    /// <summary>Creates (or truncates) <paramref name="path"/>; <paramref name="onFailure"/> hears once when writing fails.</summary>
    /// <exception cref="IOException">The file cannot be created.</exception>
    /// <exception cref="UnauthorizedAccessException">The file cannot be written.</exception>
    public FileGuestOutput(string path, Action<string> onFailure)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _onFailure = onFailure ?? throw new ArgumentNullException(nameof(onFailure));
        _file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 0);
        Path = path;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public void Write(ReadOnlySpan<byte> bytes)
    {
        lock (_lock)
        {
            if (_failed)
            {
                return;
            }

            try
            {
                _file.Write(bytes);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException)
            {
                _failed = true;
                _onFailure(ex.Message);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_lock)
        {
            _failed = true;
            _file.Dispose();
        }
    }
}
