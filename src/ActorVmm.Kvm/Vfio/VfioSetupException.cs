namespace ActorVmm.Kvm.Vfio;

/// <summary>A VFIO device could not be opened; the message says what is wrong and what to do about it.</summary>
public sealed class VfioSetupException(string message) : IOException(message)
{
}
