namespace ActorVmm.Machine.Memory;

/// <summary>Guest memory was closed (its VM stopped); the access was refused and nothing was read or written.</summary>
public sealed class GuestMemoryClosedException : ObjectDisposedException
{
    /// <summary>Creates the exception.</summary>
    public GuestMemoryClosedException()
        : base(nameof(GuestMemory), "Guest memory is closed: its VM has stopped and the RAM is (being) unmapped")
    {
    }
}
