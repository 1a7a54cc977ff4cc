using System.Buffers.Binary;
using ActorVmm.Machine.Memory;

namespace ActorVmm.Emulator.Tests.Linux;

/// <summary>Loads a 64-bit little-endian ELF executable's PT_LOAD segments at their physical addresses (p_paddr).</summary>
internal static class ElfImage
{
    private const uint PtLoad = 1;

    /// <summary>Copies each loadable segment and zero-fills its tail; returns the entry point.</summary>
    public static ulong LoadPhysical(GuestMemory memory, byte[] image)
    {
        ReadOnlySpan<byte> elf = image;
        if (elf.Length < 64 || !elf[..4].SequenceEqual("\u007fELF"u8) || elf[4] != 2 || elf[5] != 1)
        {
            throw new InvalidDataException("not a 64-bit little-endian ELF file");
        }

        ulong entry = BinaryPrimitives.ReadUInt64LittleEndian(elf[24..]);
        int phoff = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(elf[32..]));
        int phentsize = BinaryPrimitives.ReadUInt16LittleEndian(elf[54..]);
        int phnum = BinaryPrimitives.ReadUInt16LittleEndian(elf[56..]);
        for (int i = 0; i < phnum; i++)
        {
            var ph = elf.Slice(phoff + (i * phentsize), phentsize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(ph) != PtLoad)
            {
                continue;
            }

            int offset = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(ph[8..]));
            ulong paddr = BinaryPrimitives.ReadUInt64LittleEndian(ph[24..]);
            int fileSize = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(ph[32..]));
            int memSize = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(ph[40..]));
            memory.Write(paddr, elf.Slice(offset, fileSize));
            if (memSize > fileSize)
            {
                memory.Write(paddr + (ulong)fileSize, new byte[memSize - fileSize]);
            }
        }

        return entry;
    }
}
