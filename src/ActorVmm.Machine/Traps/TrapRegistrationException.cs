namespace ActorVmm.Machine.Traps;

/// <summary>A region registration, move or re-point was rejected; the message names the regions involved.</summary>
public sealed class TrapRegistrationException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public TrapRegistrationException(string message)
        : base(message)
    {
    }
}
