using ActorVmm.Devices.Pci;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.TestGuests;

/// <summary>
/// PCI configuration mechanism #1 as 32-bit guest code: CONFIG_ADDRESS (enable bit, bus 0, device in bits 11–15, the
/// dword-aligned register) then a 1-, 2- or 4-byte cycle at CONFIG_DATA plus the register's low two bits. The device
/// number is in EDI; every helper clobbers EAX and EDX only (and reads EBX / ESI where it says so). One copy for every
/// PCI guest.
/// </summary>
/// <param name="addressPort">CONFIG_ADDRESS (0xCF8).</param>
/// <param name="dataPort">CONFIG_DATA (0xCFC).</param>
public sealed class PciConfigCycles(ushort addressPort, ushort dataPort)
{
    /// <summary>Devices on one bus.</summary>
    public const int DevicesPerBus = 32;

    /// <summary>A read of an absent function.</summary>
    public const uint AllOnes = uint.MaxValue;

    /// <summary>Type-0 header: command register (low word of the dword at 4).</summary>
    public const int CommandRegister = 0x04;

    /// <summary>Type-0 header: BAR 0.</summary>
    public const int Bar0Register = 0x10;

    /// <summary>Type-0 header: the capabilities pointer (low byte of the dword at 0x34).</summary>
    public const int CapabilitiesPointerRegister = 0x34;

    /// <summary>Type-0 header: interrupt line (low byte) and pin (next byte) of the dword at 0x3C.</summary>
    public const int InterruptLineRegister = 0x3C;

    private const uint ConfigEnable = 0x8000_0000;
    private const int DeviceShift = 11;
    private const uint RegisterMask = 0xFC;
    private const uint ByteLaneMask = 3;

    /// <summary>The PC's ports (0xCF8, 0xCFC), where actorvmm's host bridge and QEMU's both decode them.</summary>
    public static PciConfigCycles Pc { get; } = new((ushort)PciHostBridgeDevice.ConfigAddressPort, (ushort)PciHostBridgeDevice.ConfigDataPort);

    /// <summary>EAX = the dword at <paramref name="register"/> of device EDI.</summary>
    public void Read(Assembler asm, int register)
    {
        ArgumentNullException.ThrowIfNull(asm);
        Select(asm, register);
        asm.mov(dx, dataPort);
        asm.@in(eax, dx);
    }

    /// <summary>Writes EBX to the dword at <paramref name="register"/> of device EDI.</summary>
    public void Write(Assembler asm, int register)
    {
        ArgumentNullException.ThrowIfNull(asm);
        Select(asm, register);
        asm.mov(dx, dataPort);
        asm.mov(eax, ebx);
        asm.@out(dx, eax);
    }

    /// <summary>Writes <paramref name="value"/> to the word at <paramref name="register"/> of device EDI (a 16-bit data cycle).</summary>
    public void Write16(Assembler asm, int register, ushort value)
    {
        ArgumentNullException.ThrowIfNull(asm);
        Select(asm, register);
        asm.mov(dx, (ushort)(dataPort + (register & (int)ByteLaneMask)));
        asm.mov(ax, value);
        asm.@out(dx, ax);
    }

    /// <summary>EAX = the byte (zero-extended) at the register in ESI of device EDI (a capability walk's dynamic offsets).</summary>
    public void ReadByteAtEsi(Assembler asm)
    {
        ArgumentNullException.ThrowIfNull(asm);
        SelectEsi(asm);
        asm.mov(edx, esi);
        asm.and(edx, ByteLaneMask);
        asm.add(edx, dataPort);
        asm.@in(al, dx);
        asm.movzx(eax, al);
    }

    /// <summary>EAX = the dword at the (dword-aligned) register ESI + <paramref name="displacement"/> of device EDI.</summary>
    public void ReadDwordAtEsi(Assembler asm, int displacement = 0)
    {
        ArgumentNullException.ThrowIfNull(asm);
        SelectEsi(asm, displacement);
        asm.mov(dx, dataPort);
        asm.@in(eax, dx);
    }

    /// <summary>Writes EBX to the (dword-aligned) register ESI + <paramref name="displacement"/> of device EDI.</summary>
    public void WriteDwordAtEsi(Assembler asm, int displacement = 0)
    {
        ArgumentNullException.ThrowIfNull(asm);
        SelectEsi(asm, displacement);
        asm.mov(dx, dataPort);
        asm.mov(eax, ebx);
        asm.@out(dx, eax);
    }

    /// <summary>Writes BX to the word at register ESI + <paramref name="displacement"/> of device EDI (a 16-bit data cycle).</summary>
    public void Write16AtEsi(Assembler asm, int displacement)
    {
        ArgumentNullException.ThrowIfNull(asm);
        SelectEsi(asm, displacement);
        asm.lea(edx, __dword_ptr[esi + displacement]);
        asm.and(edx, ByteLaneMask);
        asm.add(edx, dataPort);
        asm.mov(ax, bx);
        asm.@out(dx, ax);
    }

    /// <summary>Sets EDI to the first device number on bus 0 whose ID dword (vendor | device &lt;&lt; 16) is <paramref name="ids"/>; jumps to <paramref name="notFound"/> when none is. Clobbers ECX.</summary>
    public void Find(Assembler asm, uint ids, Label notFound)
    {
        ArgumentNullException.ThrowIfNull(asm);
        var scan = asm.CreateLabel();
        var found = asm.CreateLabel();
        asm.xor(edi, edi);
        asm.Label(ref scan);
        Read(asm, 0);
        asm.cmp(eax, ids);
        asm.je(found);
        asm.inc(edi);
        asm.cmp(edi, DevicesPerBus);
        asm.jb(scan);
        asm.jmp(notFound);
        asm.Label(ref found);
    }

    private void Select(Assembler asm, int register)
    {
        asm.mov(eax, edi);
        asm.shl(eax, DeviceShift);
        asm.or(eax, ConfigEnable | ((uint)register & RegisterMask));
        asm.mov(dx, addressPort);
        asm.@out(dx, eax);
    }

    private void SelectEsi(Assembler asm, int displacement = 0)
    {
        asm.mov(eax, edi);
        asm.shl(eax, DeviceShift);
        asm.or(eax, ConfigEnable);
        asm.lea(edx, __dword_ptr[esi + displacement]);
        asm.and(edx, RegisterMask);
        asm.or(eax, edx);
        asm.mov(dx, addressPort);
        asm.@out(dx, eax);
    }
}
