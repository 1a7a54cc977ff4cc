using ActorVmm.Devices.Pci;

namespace ActorVmm.Devices.Tests.Pci;

/// <summary>
/// The two hooks a device adds to its function: a configuration window it serves itself (virtio-pci's pci_cfg_data)
/// and a placement observer told where each BAR decodes (virtio-pci's doorbells follow its BAR).
/// </summary>
public sealed class PciFunctionHookTests
{
    private const int WindowOffset = PciHeader.StandardHeaderSize + PciCapability.HeaderSize + 1;
    private const byte Served = 0x5A;
    private const uint Memory32Address = 0xD200_0000;
    private readonly PciTestRig _rig = new();
    private readonly List<(int Offset, int Size, uint Value)> _written = [];

    [Fact]
    public void Bytes_inside_the_window_come_from_the_device_and_the_rest_of_the_access_from_the_registers()
    {
        _rig.Function.Intercept(new PciConfigIntercept(WindowOffset, sizeof(byte), (_, _) => Served, (o, s, v) => _written.Add((o, s, v))));

        uint dword = _rig.Function.ReadConfig(PciHeader.StandardHeaderSize, sizeof(uint));

        Assert.Equal((uint)Served, dword >> 24);
        Assert.Equal((uint)PciCapabilityId.VendorSpecific, dword & byte.MaxValue);
        Assert.Equal((uint)TestPciDevice.VendorCapabilityLength, (dword >> 16) & byte.MaxValue);
    }

    [Fact]
    public void A_write_covering_the_window_hands_the_device_only_its_bytes_at_window_offsets()
    {
        _rig.Function.Intercept(new PciConfigIntercept(WindowOffset, sizeof(byte), (_, _) => Served, (o, s, v) => _written.Add((o, s, v))));

        _rig.Function.WriteConfig(PciHeader.StandardHeaderSize, sizeof(uint), 0xAB00_0000);
        _rig.Function.WriteConfig(PciHeader.StandardHeaderSize, sizeof(ushort), 0xFFFF);

        Assert.Equal([(0, sizeof(byte), 0xABu)], _written);
    }

    [Fact]
    public void A_window_outside_the_capabilities_area_or_a_second_window_is_refused()
    {
        Assert.Throws<ArgumentException>(() => _rig.Function.Intercept(new PciConfigIntercept(PciHeader.Command, sizeof(ushort), (_, _) => 0, (_, _, _) => { })));
        Assert.Throws<ArgumentException>(() => _rig.Function.Intercept(new PciConfigIntercept(PciHeader.ConfigSpaceSize - 1, sizeof(ushort), (_, _) => 0, (_, _, _) => { })));
        _rig.Function.Intercept(new PciConfigIntercept(WindowOffset, sizeof(byte), (_, _) => 0, (_, _, _) => { }));

        Assert.Throws<InvalidOperationException>(() => _rig.Function.Intercept(new PciConfigIntercept(WindowOffset, sizeof(byte), (_, _) => 0, (_, _, _) => { })));
    }

    [Fact]
    public void The_placement_observer_hears_every_BAR_at_once_then_each_move_and_decode_change()
    {
        var heard = new List<(int Bar, PciBarPlacement Placement)>();
        _rig.Function.ObservePlacements((bar, placement) => heard.Add((bar, placement)));
        Assert.Equal(TestPciDevice.Definition.Bars.Select(b => b.Index).Order(), heard.Select(h => h.Bar).Order());
        heard.Clear();

        _rig.Function.WriteConfig(PciHeader.Bar(TestPciDevice.Memory32Bar), sizeof(uint), Memory32Address);
        _rig.Function.WriteConfig(PciHeader.Command, sizeof(ushort), (uint)PciCommand.MemorySpace);
        _rig.Function.WriteConfig(PciHeader.Command, sizeof(ushort), 0);

        Assert.Equal(
            [
                (TestPciDevice.Memory32Bar, new PciBarPlacement(Memory32Address, false)),
                (TestPciDevice.Memory32Bar, new PciBarPlacement(Memory32Address, true)),
                (TestPciDevice.Memory32Bar, new PciBarPlacement(Memory32Address, false)),
            ],
            heard.Where(h => h.Bar == TestPciDevice.Memory32Bar));
    }
}
