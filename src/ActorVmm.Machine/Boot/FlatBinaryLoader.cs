using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Vcpu;

namespace ActorVmm.Machine.Boot;

/// <summary>
/// Loads kvmtool-compatible flat binaries: the image goes to guest-physical 0x10000 and the boot
/// vCPU starts in real mode at 0x1000:0000 (see guest-conventions.md).
/// </summary>
public static class FlatBinaryLoader
{
    /// <summary>Guest-physical load address of flat binaries.</summary>
    public const ulong LoadAddress = 0x10000;

    /// <summary>Copies an image into guest RAM and returns the entry state for the boot vCPU.</summary>
    /// <exception cref="InvalidDataException">The image is empty or does not fit in RAM above the load address.</exception>
    public static RealModeEntry Load(GuestMemory memory, ReadOnlySpan<byte> image)
    {
        ArgumentNullException.ThrowIfNull(memory);
        if (image.IsEmpty)
        {
            throw new InvalidDataException("The guest image is empty");
        }

        if (!memory.IsRam(LoadAddress, (ulong)image.Length))
        {
            throw new InvalidDataException(
                $"The guest image ({image.Length} bytes) does not fit in guest RAM at 0x{LoadAddress:X} (RAM is {memory.TotalSize} bytes)");
        }

        memory.Write(LoadAddress, image);
        return RealModeEntry.FlatBinary;
    }

    /// <summary>Reads an image file and loads it, with clear errors for a missing or unreadable file.</summary>
    /// <exception cref="InvalidDataException">The file is missing, unreadable, empty or too large.</exception>
    public static RealModeEntry LoadFile(GuestMemory memory, string path)
    {
        byte[] image;
        try
        {
            image = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"Cannot read guest image '{path}': {ex.Message}", ex);
        }

        return Load(memory, image);
    }
}
