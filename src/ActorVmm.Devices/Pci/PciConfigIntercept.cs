namespace ActorVmm.Devices.Pci;

/// <summary>
/// A window of a function's configuration space whose bytes the device serves itself instead of the stored registers
/// (virtio-pci's <c>pci_cfg_data</c>, a window onto a BAR). The bytes of a configuration access that fall inside the
/// window go to <see cref="Read"/> / <see cref="Write"/> as one access at an offset relative to the window start; the
/// rest of the access is applied to the stored registers as usual. Both run under the function's lock on the vCPU
/// that made the configuration cycle, must not block and must not throw for any guest value.
/// </summary>
/// <param name="Offset">First configuration offset of the window (inside the 256-byte header and capabilities).</param>
/// <param name="Length">Bytes of the window.</param>
/// <param name="Read">Reads <c>size</c> bytes at window offset <c>offset</c> (little-endian in the result).</param>
/// <param name="Write">Writes <c>size</c> bytes of <c>value</c> (little-endian) at window offset <c>offset</c>.</param>
public sealed record PciConfigIntercept(int Offset, int Length, Func<int, int, uint> Read, Action<int, int, uint> Write)
{
    /// <summary>Throws <see cref="ArgumentException"/> unless the window lies inside the standard configuration space.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Read);
        ArgumentNullException.ThrowIfNull(Write);
        if (Offset < PciHeader.StandardHeaderSize || Length <= 0 || Offset + Length > PciHeader.ConfigSpaceSize)
        {
            throw new ArgumentException($"a configuration intercept at 0x{Offset:X} of {Length} bytes must lie in the capabilities area (0x{PciHeader.StandardHeaderSize:X}..0x{PciHeader.ConfigSpaceSize - 1:X})");
        }
    }
}
