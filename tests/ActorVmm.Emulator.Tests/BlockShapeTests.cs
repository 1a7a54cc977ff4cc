using ActorVmm.Emulator.Cpu;
using Iced.Intel;

namespace ActorVmm.Emulator.Tests;

/// <summary>
/// Which instructions blocks translate to IL of their own: the differential tests cannot see an instruction that
/// silently falls back to the interpreter inside a block (the results agree, only slower), as LEA once did.
/// </summary>
public sealed class BlockShapeTests
{
    private static readonly MemoryOperand Slot = new(Register.RBX, 8, 1);

    [Fact]
    public void Hot_forms_have_their_own_translation()
    {
        Instruction[] forms =
        [
            Instruction.Create(Code.Lea_r64_m, Register.RAX, new MemoryOperand(Register.RBX, Register.RCX, 8, 0x10, 1)),
            Instruction.Create(Code.Lea_r32_m, Register.EAX, new MemoryOperand(Register.RIP, 0x2000, 8)),
            Instruction.Create(Code.Shl_rm64_imm8, Register.RAX, 3),
            Instruction.Create(Code.Shr_rm32_1, Register.ECX, 1),
            Instruction.Create(Code.Sar_rm16_CL, Register.DX, Register.CL),
            Instruction.Create(Code.Rol_rm32_imm8, Register.EAX, 16),
            Instruction.Create(Code.Ror_rm8_1, Register.R8L, 1),
            Instruction.Create(Code.Add_r64_rm64, Register.RAX, Slot),
            Instruction.Create(Code.Cmp_rm32_imm8, Slot, 5),
            Instruction.Create(Code.And_rm32_r32, Slot, Register.ESI),
            Instruction.Create(Code.Adc_r64_rm64, Register.RAX, Slot),
            Instruction.Create(Code.Test_rm8_imm8, Slot, 1),
            Instruction.Create(Code.Imul_r64_rm64, Register.RAX, Register.RBX),
            Instruction.Create(Code.Imul_r32_rm32_imm8, Register.EAX, Slot, 0x12),
            Instruction.Create(Code.Sete_rm8, Register.AL),
            Instruction.Create(Code.Cmovne_r32_rm32, Register.EAX, Register.EBX),
            Instruction.Create(Code.Cmovb_r64_rm64, Register.RAX, Slot),
            Instruction.Create(Code.Neg_rm64, Register.RDX),
            Instruction.Create(Code.Not_rm32, Register.ECX),
            Instruction.Create(Code.Dec_rm32, Slot),
        ];

        Assert.Empty(forms.Where(form => !X86Core.HasOwnTranslation(form)).Select(form => form.ToString()));
    }

    [Fact]
    public void Forms_without_a_translation_are_left_to_the_interpreter()
    {
        var lockedAdd = Instruction.Create(Code.Add_rm32_r32, Slot, Register.EAX);
        lockedAdd.HasLockPrefix = true;
        Instruction[] forms =
        [
            lockedAdd,
            Instruction.Create(Code.Rol_rm32_CL, Register.EAX, Register.CL),
            Instruction.Create(Code.Shl_rm32_1, Slot, 1),
            Instruction.Create(Code.Sete_rm8, new MemoryOperand(Register.RBX, 0L, 1)),
            Instruction.Create(Code.Imul_rm64, Register.RBX),
            Instruction.Create(Code.Neg_rm32, Slot),
        ];

        Assert.Empty(forms.Where(form => X86Core.HasOwnTranslation(form)).Select(form => form.ToString()));
    }
}
