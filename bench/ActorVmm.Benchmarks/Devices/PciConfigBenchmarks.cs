using ActorVmm.Devices;
using ActorVmm.Devices.Pci;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Traps;
using BenchmarkDotNet.Attributes;

namespace ActorVmm.Benchmarks.Devices;

/// <summary>
/// PCI configuration cycles through the trap dispatcher (cloud-hypervisor saw them as almost all port exits of a
/// boot): a mechanism #1 read (OUT 0xCF8 + IN 0xCFC), an ECAM read (one MMIO access), and a BAR write that moves
/// the BAR, once with the placement reported to a counting seam and once with the BAR bound to a registered
/// trap-table region through the production binding (<see cref="RegionBarPlacement"/> over the region's granted
/// <see cref="RegionControl"/>), so that each move publishes a new trap-table snapshot.
/// Run: dotnet run -c Release --project bench/ActorVmm.Benchmarks -- --filter '*PciConfig*' --job short --inProcess
/// </summary>
[MemoryDiagnoser]
public class PciConfigBenchmarks
{
    private const int Slot = 1;
    private const int RegionSlot = 2;
    private const uint BarA = 0xD200_0000;
    private const uint BarB = 0xD210_0000;
    private const uint RegionBarA = 0xD220_0000;
    private const uint RegionBarB = 0xD230_0000;

    private readonly byte[] _dword = new byte[4];
    private readonly CountingPlacement _placement = new();
    private TrapDispatcher _dispatcher = null!;
    private uint _configAddressVendor;
    private uint _configAddressBar;
    private uint _configAddressRegionBar;
    private RegionControl _regionControl = null!;
    private ulong _ecamVendor;
    private bool _flip;

    [GlobalSetup]
    public void Setup()
    {
        var table = new TrapTable();
        var writer = table.ClaimWriter();
        _dispatcher = new TrapDispatcher(table);
        var bus = new PciBus();
        var definition = new PciFunctionDefinition
        {
            VendorId = 0x1234,
            DeviceId = 0x5678,
            ClassCode = PciClassCode.Unclassified,
            Bars = [new PciBarDefinition(0, PciBarKind.Memory32, 0x1000)],
        };
        var slot = bus.AddSlot("bench", Slot);
        var function = new PciFunction(definition, slot.Wiring(0, definition, _ => _placement));
        slot.Attach(0, function);
        function.WriteConfig(PciHeader.Command, 2, (uint)PciCommand.MemorySpace);

        // The BAR's region registered disabled, as the supervisor registers a BAR, then granted to the function.
        var bar = definition.Bar(0)!;
        var handle = writer.Register(bar.Bus, RegionBarA, bar.Size, static access => { }, TrapFlags.None, "bench-region", enabled: false);
        _regionControl = writer.Control(handle);
        var regions = new DeviceRegionControls();
        regions.Grant([_regionControl]);
        var regionSlot = bus.AddSlot("bench-region", RegionSlot);
        var regionFunction = new PciFunction(definition, regionSlot.Wiring(0, definition, _ => new RegionBarPlacement(regions, region: 0)));
        regionSlot.Attach(0, regionFunction);
        regionFunction.WriteConfig(PciHeader.Bar(0), sizeof(uint), RegionBarA);
        regionFunction.WriteConfig(PciHeader.Command, 2, (uint)PciCommand.MemorySpace);
        if (!_regionControl.IsDecoding || _regionControl.Base != RegionBarA)
        {
            throw new InvalidOperationException($"The BAR's region does not decode at 0x{RegionBarA:X}: {_regionControl}");
        }

        var windows = PciConfigWindows.For(MemoryMap.X86);
        IDevice bridge = new PciHostBridgeDevice(bus, windows);
        for (int i = 0; i < bridge.Regions.Count; i++)
        {
            int region = i;
            var r = bridge.Regions[i];
            writer.Register(r.Bus, r.Base, r.Length, access => bridge.HandleTrap(region, access), name: bridge.Name);
        }

        var address = slot.Address(0);
        _configAddressVendor = PciConfigAddress.For(address, PciHeader.VendorId).Value;
        _configAddressBar = PciConfigAddress.For(address, PciHeader.Bar(0)).Value;
        _configAddressRegionBar = PciConfigAddress.For(regionSlot.Address(0), PciHeader.Bar(0)).Value;
        _ecamVendor = windows.EcamBase + PciEcam.Offset(address, PciHeader.VendorId);

        // One move there and back through the host bridge, so a binding that does not reach the table fails here.
        ulong moved = BarMoveWithTrapTablePublish();
        ulong back = BarMoveWithTrapTablePublish();
        if (moved != RegionBarB || back != RegionBarA)
        {
            throw new InvalidOperationException($"A BAR write through 0xCFC did not move the region (0x{moved:X}, 0x{back:X})");
        }
    }

    /// <summary>OUT 0xCF8 (address), IN 0xCFC (vendor and device ID).</summary>
    [Benchmark]
    public uint Mechanism1Read()
    {
        Access(TrapBus.Pio, PciHostBridgeDevice.ConfigAddressPort, TrapDirection.Write, _configAddressVendor);
        return Access(TrapBus.Pio, PciHostBridgeDevice.ConfigDataPort, TrapDirection.Read, 0);
    }

    /// <summary>One 32-bit MMIO read of the vendor and device ID in the ECAM window.</summary>
    [Benchmark]
    public uint EcamRead() => Access(TrapBus.Mmio, _ecamVendor, TrapDirection.Read, 0);

    /// <summary>OUT 0xCF8, OUT 0xCFC with a new BAR address: the BAR moves (one placement report).</summary>
    [Benchmark]
    public int BarMove()
    {
        _flip = !_flip;
        Access(TrapBus.Pio, PciHostBridgeDevice.ConfigAddressPort, TrapDirection.Write, _configAddressBar);
        Access(TrapBus.Pio, PciHostBridgeDevice.ConfigDataPort, TrapDirection.Write, _flip ? BarA : BarB);
        return _placement.Count;
    }

    /// <summary>
    /// OUT 0xCF8, OUT 0xCFC with a new BAR address for a BAR bound to a registered trap-table region: the region
    /// moves and the table publishes a new snapshot inside the configuration write.
    /// </summary>
    [Benchmark]
    public ulong BarMoveWithTrapTablePublish()
    {
        _flip = !_flip;
        Access(TrapBus.Pio, PciHostBridgeDevice.ConfigAddressPort, TrapDirection.Write, _configAddressRegionBar);
        Access(TrapBus.Pio, PciHostBridgeDevice.ConfigDataPort, TrapDirection.Write, _flip ? RegionBarB : RegionBarA);
        return _regionControl.Base;
    }

    private uint Access(TrapBus bus, ulong address, TrapDirection direction, uint value)
    {
        TrapAccess.WriteLittleEndian(_dword, value);
        _dispatcher.Dispatch(0, bus, address, direction, _dword);
        return (uint)TrapAccess.ReadLittleEndian(_dword);
    }

    private sealed class CountingPlacement : IBarPlacement
    {
        public int Count { get; private set; }

        public void Place(ulong baseAddress, bool enabled) => Count++;
    }
}
