namespace ActorVmm.Machine.Memory;

/// <summary>A guest-physical range is not backed by RAM; nothing was read or written.</summary>
public sealed class GuestMemoryException : InvalidOperationException
{
    /// <summary>Creates the exception for an access of <paramref name="length"/> bytes at <paramref name="address"/>.</summary>
    public GuestMemoryException(ulong address, ulong length)
        : base($"Guest-physical range [0x{address:X}, +0x{length:X}) is not inside guest RAM")
    {
        Address = address;
        AccessLength = length;
    }

    /// <summary>The guest-physical address of the refused access.</summary>
    public ulong Address { get; }

    /// <summary>Its length in bytes.</summary>
    public ulong AccessLength { get; }
}
