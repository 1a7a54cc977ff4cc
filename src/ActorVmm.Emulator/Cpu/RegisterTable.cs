using Iced.Intel;

namespace ActorVmm.Emulator.Cpu;

/// <summary>Maps Iced registers to slots in the general-purpose register file, built once from Iced's own tables.</summary>
internal static class RegisterTable
{
    private static readonly int RegisterCount = Enum.GetValues<Register>().Max(r => (int)r) + 1;

    /// <summary>Slot 0..15 for GPRs, segment index 0..5 (ES, CS, SS, DS, FS, GS) for segment registers, 255 otherwise.</summary>
    public static readonly byte[] Index = new byte[RegisterCount];

    /// <summary>Size in bytes of the register (1, 2, 4, 8), 0 when not a GPR.</summary>
    public static readonly byte[] Size = new byte[RegisterCount];

    /// <summary>True for AH, CH, DH, BH (bits 8..15 of the slot).</summary>
    public static readonly bool[] High8 = new bool[RegisterCount];

    static RegisterTable()
    {
        for (int i = 0; i < RegisterCount; i++)
        {
            var reg = (Register)i;
            Index[i] = 255;
            if (reg.IsGPR())
            {
                Index[i] = (byte)(reg.GetFullRegister() - Register.RAX);
                Size[i] = (byte)reg.GetSize();
                High8[i] = reg is Register.AH or Register.CH or Register.DH or Register.BH;
            }
            else if (reg.IsSegmentRegister())
            {
                Index[i] = (byte)(reg - Register.ES);
                Size[i] = 2;
            }
            else if (reg is Register.EIP)
            {
                Size[i] = 4;
            }
            else if (reg is Register.RIP)
            {
                Size[i] = 8;
            }
        }
    }
}
