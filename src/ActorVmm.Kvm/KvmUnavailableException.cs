namespace ActorVmm.Kvm;

/// <summary>
/// KVM cannot be used on this machine: /dev/kvm is missing or not permitted, or the kernel lacks
/// the API version or a capability the backend relies on. The message says which and suggests
/// the software backend.
/// </summary>
public sealed class KvmUnavailableException : Exception
{
    /// <summary>The suggestion appended to every message.</summary>
    public const string Suggestion = "Use --backend emulator to run guests with the software x86 backend instead.";

    /// <summary>Creates the exception; <paramref name="reason"/> says what is missing.</summary>
    public KvmUnavailableException(string reason, Exception? inner = null)
        : base($"KVM is not available: {reason}. {Suggestion}", inner)
    {
        Reason = reason;
    }

    /// <summary>What is missing, without the suggestion.</summary>
    public string Reason { get; }
}
