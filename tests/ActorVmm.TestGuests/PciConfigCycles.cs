using ActorVmm.Devices.Pci;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.TestGuests;

/// <summary>CONFIG_ADDRESS and CONFIG_DATA of configuration mechanism #1, as the guest's platform places them.</summary>
/// <param name="Address">CONFIG_ADDRESS (0xCF8 on a PC).</param>
/// <param name="Data">CONFIG_DATA (0xCFC on a PC).</param>
public sealed record PciConfigPorts(ushort Address, ushort Data)
{
    /// <summary>The PC's ports (0xCF8, 0xCFC), where actorvmm's host bridge and QEMU's both decode them.</summary>
    public static PciConfigPorts Pc { get; } = new((ushort)PciHostBridgeDevice.ConfigAddressPort, (ushort)PciHostBridgeDevice.ConfigDataPort);
}

/// <summary>
/// Configuration cycles on bus 0 through CONFIG_ADDRESS/CONFIG_DATA from 32-bit guest code, shared by the PCI guests: the
/// function is device EDI, function 0; every helper clobbers EAX and DX only (reads return the dword in EAX).
/// </summary>
public static class PciConfigCycles
{
    /// <summary>Device numbers on a bus.</summary>
    public const int DevicesPerBus = 32;

    /// <summary>What a config read of an absent device returns, and EDI after <see cref="EmitFind"/> found nothing.</summary>
    public const uint NoDevice = uint.MaxValue;

    /// <summary>Type-0 header: command register (low word of the dword at 4).</summary>
    public const int CommandRegister = 0x04;

    /// <summary>Type-0 header: BAR 0.</summary>
    public const int Bar0Register = 0x10;

    /// <summary>Type-0 header: the capabilities pointer (low byte of the dword at 0x34).</summary>
    public const int CapabilitiesPointerRegister = 0x34;

    /// <summary>Type-0 header: interrupt line (low byte) and pin (next byte) of the dword at 0x3C.</summary>
    public const int InterruptLineRegister = 0x3C;

    /// <summary>CONFIG_ADDRESS bit 31: enable the configuration cycle.</summary>
    private const uint ConfigEnable = 0x8000_0000;

    /// <summary>CONFIG_ADDRESS bits 11–15: device number.</summary>
    private const int ConfigDeviceShift = 11;

    /// <summary>
    /// Scans bus 0 for <paramref name="ids"/> (vendor ID | device ID &lt;&lt; 16); leaves the last matching device number
    /// in EDI, or <see cref="NoDevice"/>. For each present device <paramref name="onPresent"/> (if any) runs with the
    /// device number in ECX and its ID dword in EBX (it must keep ECX, EBX and EDI).
    /// </summary>
    public static void EmitFind(Assembler asm, PciConfigPorts ports, uint ids, Action<Assembler>? onPresent = null)
    {
        ArgumentNullException.ThrowIfNull(asm);
        ArgumentNullException.ThrowIfNull(ports);
        var scan = asm.CreateLabel();
        var next = asm.CreateLabel();
        asm.xor(ecx, ecx);
        asm.mov(edi, NoDevice);
        asm.Label(ref scan);
        asm.mov(eax, ecx);
        asm.shl(eax, ConfigDeviceShift);
        asm.or(eax, ConfigEnable);
        asm.mov(dx, ports.Address);
        asm.@out(dx, eax);
        asm.mov(dx, ports.Data);
        asm.@in(eax, dx);
        asm.cmp(eax, NoDevice);
        asm.je(next);
        asm.mov(ebx, eax);
        onPresent?.Invoke(asm);
        asm.cmp(ebx, ids);
        asm.jne(next);
        asm.mov(edi, ecx);
        asm.Label(ref next);
        asm.inc(ecx);
        asm.cmp(ecx, DevicesPerBus);
        asm.jb(scan);
    }

    /// <summary>EAX = the dword at <paramref name="register"/> of device EDI.</summary>
    public static void EmitRead(Assembler asm, PciConfigPorts ports, int register)
    {
        Select(asm, ports, register, plusEsi: false);
        asm.mov(dx, ports.Data);
        asm.@in(eax, dx);
    }

    /// <summary>EAX = the dword at ESI + <paramref name="displacement"/> (a capability's register) of device EDI.</summary>
    public static void EmitReadAtEsi(Assembler asm, PciConfigPorts ports, int displacement)
    {
        Select(asm, ports, displacement, plusEsi: true);
        asm.mov(dx, ports.Data);
        asm.@in(eax, dx);
    }

    /// <summary>Writes EBX to the dword at <paramref name="register"/> of device EDI.</summary>
    public static void EmitWrite(Assembler asm, PciConfigPorts ports, int register)
    {
        Select(asm, ports, register, plusEsi: false);
        asm.mov(dx, ports.Data);
        asm.mov(eax, ebx);
        asm.@out(dx, eax);
    }

    /// <summary>Writes EBX to the dword at ESI + <paramref name="displacement"/> of device EDI.</summary>
    public static void EmitWriteAtEsi(Assembler asm, PciConfigPorts ports, int displacement)
    {
        Select(asm, ports, displacement, plusEsi: true);
        asm.mov(dx, ports.Data);
        asm.mov(eax, ebx);
        asm.@out(dx, eax);
    }

    /// <summary>Writes BX to the word at ESI + <paramref name="displacement"/> (dword-aligned) of device EDI: a 16-bit data cycle.</summary>
    public static void EmitWrite16AtEsi(Assembler asm, PciConfigPorts ports, int displacement)
    {
        Select(asm, ports, displacement, plusEsi: true);
        asm.mov(dx, ports.Data);
        asm.mov(ax, bx);
        asm.@out(dx, ax);
    }

    /// <summary>Writes <paramref name="value"/> to the word at <paramref name="register"/> (dword-aligned) of device EDI: a 16-bit data cycle.</summary>
    public static void EmitWrite16(Assembler asm, PciConfigPorts ports, int register, ushort value)
    {
        Select(asm, ports, register, plusEsi: false);
        asm.mov(dx, ports.Data);
        asm.mov(ax, value);
        asm.@out(dx, ax);
    }

    // CONFIG_ADDRESS for `register` (plus ESI when asked) of device EDI.
    private static void Select(Assembler asm, PciConfigPorts ports, int register, bool plusEsi)
    {
        ArgumentNullException.ThrowIfNull(asm);
        ArgumentNullException.ThrowIfNull(ports);
        asm.mov(eax, edi);
        asm.shl(eax, ConfigDeviceShift);
        asm.or(eax, ConfigEnable | (uint)register);
        if (plusEsi)
        {
            asm.add(eax, esi);
        }

        asm.mov(dx, ports.Address);
        asm.@out(dx, eax);
    }
}
