namespace ActorVmm.Devices.Virtio.Queues;

/// <summary>One buffer of a descriptor chain: a range of guest RAM, already checked to be RAM when the chain was read.</summary>
/// <param name="Address">Guest-physical address.</param>
/// <param name="Length">Bytes (never 0: empty descriptors carry no buffer).</param>
public readonly record struct GuestBuffer(ulong Address, uint Length);
