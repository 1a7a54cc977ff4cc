using ActorVmm.Devices.Pci;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Devices.Tests.Pci;

/// <summary>Guest-side configuration accesses against a host bridge device, as IN/OUT and MMIO traps.</summary>
internal sealed class ConfigCycles(PciHostBridgeDevice bridge, ulong ecamBase)
{
    private const int PortRegion = 0;
    private const int EcamRegion = 1;

    public ulong PortRead(ulong port, int size) => Access(PortRegion, TrapBus.Pio, port, port - PciHostBridgeDevice.ConfigAddressPort, size, null);

    public void PortWrite(ulong port, int size, ulong value) => Access(PortRegion, TrapBus.Pio, port, port - PciHostBridgeDevice.ConfigAddressPort, size, value);

    public ulong EcamRead(ulong offset, int size) => Access(EcamRegion, TrapBus.Mmio, ecamBase + offset, offset, size, null);

    public void EcamWrite(ulong offset, int size, ulong value) => Access(EcamRegion, TrapBus.Mmio, ecamBase + offset, offset, size, value);

    /// <summary>Mechanism #1: latch the dword, then access the data port lane the register's low bits select.</summary>
    public uint Read(PciAddress function, int register, int size)
    {
        PortWrite(PciHostBridgeDevice.ConfigAddressPort, sizeof(uint), PciConfigAddress.For(function, register).Value);
        return (uint)PortRead(PciHostBridgeDevice.ConfigDataPort + (ulong)(register & 3), size);
    }

    public void Write(PciAddress function, int register, int size, uint value)
    {
        PortWrite(PciHostBridgeDevice.ConfigAddressPort, sizeof(uint), PciConfigAddress.For(function, register).Value);
        PortWrite(PciHostBridgeDevice.ConfigDataPort + (ulong)(register & 3), size, value);
    }

    private ulong Access(int region, TrapBus bus, ulong address, ulong offset, int size, ulong? write)
    {
        Span<byte> data = stackalloc byte[size];
        if (write is { } value)
        {
            TrapAccess.WriteLittleEndian(data, value);
        }

        bridge.HandleTrap(region, new TrapAccess(0, bus, address, offset, write is null ? TrapDirection.Read : TrapDirection.Write, data));
        return TrapAccess.ReadLittleEndian(data);
    }
}
