using ActorVmm.Devices.Virtio.Block;

namespace ActorVmm.Devices.Tests.Virtio;

/// <summary>
/// An in-memory image whose operations complete at once (<see cref="AutoComplete"/>) or only when the test says so, in any
/// order; it logs when each operation took effect, so tests can check that the device acknowledged nothing earlier.
/// </summary>
internal sealed class ManualBlockBackend(int bytes, bool readOnly = false) : IBlockBackend
{
    private readonly List<Pending> _pending = [];

    public string Name => "memory-image";

    public byte[] Image { get; } = new byte[bytes];

    public long Length => Image.Length;

    public bool IsReadOnly => readOnly;

    public bool AutoComplete { get; set; }

    /// <summary>Operations that took effect, in order ("read 512@0", "write 512@1024", "fdatasync").</summary>
    public List<string> Effects { get; } = [];

    /// <summary>Operations waiting for <see cref="Complete"/>.</summary>
    public int PendingCount
    {
        get
        {
            lock (_pending)
            {
                return _pending.Count;
            }
        }
    }

    public ValueTask ReadAsync(long offset, Memory<byte> destination) =>
        Run($"read {destination.Length}@{offset}", () => Image.AsSpan((int)offset, destination.Length).CopyTo(destination.Span));

    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> source)
    {
        // The device copied the data out of guest memory already; keep our own copy until the write takes effect.
        byte[] data = source.ToArray();
        return Run($"write {data.Length}@{offset}", () => data.CopyTo(Image.AsSpan((int)offset)));
    }

    public ValueTask FlushAsync() => Run("fdatasync", () => { });

    /// <summary>Completes the waiting operation at <paramref name="index"/> (0 = oldest), optionally with an I/O error.</summary>
    public void Complete(int index = 0, bool fail = false)
    {
        Pending pending;
        lock (_pending)
        {
            pending = _pending[index];
            _pending.RemoveAt(index);
        }

        if (fail)
        {
            pending.Completion.SetException(new IOException($"injected failure of {pending.Name}"));
            return;
        }

        pending.Effect();
        lock (Effects)
        {
            Effects.Add(pending.Name);
        }

        pending.Completion.SetResult();
    }

    private ValueTask Run(string name, Action effect)
    {
        if (AutoComplete)
        {
            effect();
            Effects.Add(name);
            return ValueTask.CompletedTask;
        }

        var completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_pending)
        {
            _pending.Add(new Pending(name, effect, completion));
        }

        return new ValueTask(completion.Task);
    }

    private sealed record Pending(string Name, Action Effect, TaskCompletionSource Completion);
}
