namespace ActorVmm.Machine.Memory;

/// <summary>Told when a device (not the guest's own instructions) writes guest RAM, e.g. to invalidate decoded code.</summary>
public interface IGuestMemoryWriteObserver
{
    /// <summary>Bytes [address, address + length) were written by the host side.</summary>
    void OnHostWrite(ulong address, ulong length);
}
