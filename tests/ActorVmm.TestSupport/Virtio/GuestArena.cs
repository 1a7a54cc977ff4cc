namespace ActorVmm.TestSupport.Virtio;

/// <summary>Hands out guest-physical ranges one after another, as a test driver allocates ring and buffer memory.</summary>
public sealed class GuestArena(ulong start, ulong end)
{
    private ulong _next = start;

    /// <summary>The first address not yet handed out.</summary>
    public ulong Next => _next;

    /// <summary><paramref name="length"/> bytes aligned to <paramref name="alignment"/>.</summary>
    public ulong Allocate(ulong length, ulong alignment = 16)
    {
        ulong address = (_next + alignment - 1) & ~(alignment - 1);
        if (address + length > end)
        {
            throw new InvalidOperationException($"Guest arena exhausted: 0x{length:X} bytes at 0x{address:X} pass 0x{end:X}");
        }

        _next = address + length;
        return address;
    }
}
