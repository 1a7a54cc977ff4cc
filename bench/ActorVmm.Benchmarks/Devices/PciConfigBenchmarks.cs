using ActorVmm.Devices;
using ActorVmm.Devices.Pci;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Traps;
using BenchmarkDotNet.Attributes;

namespace ActorVmm.Benchmarks.Devices;

/// <summary>
/// PCI configuration cycles through the trap dispatcher (cloud-hypervisor saw them as almost all port exits of a
/// boot): a mechanism #1 read (OUT 0xCF8 + IN 0xCFC), an ECAM read (one MMIO access), and a BAR write that moves
/// the BAR (placement reported to a counting seam).
/// Run: dotnet run -c Release --project bench/ActorVmm.Benchmarks -- --filter '*PciConfig*' --job short --inProcess
/// </summary>
[MemoryDiagnoser]
public class PciConfigBenchmarks
{
    private const int Slot = 1;
    private const uint BarA = 0xD200_0000;
    private const uint BarB = 0xD210_0000;

    private readonly byte[] _dword = new byte[4];
    private readonly CountingPlacement _placement = new();
    private TrapDispatcher _dispatcher = null!;
    private uint _configAddressVendor;
    private uint _configAddressBar;
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
        _ecamVendor = windows.EcamBase + PciEcam.Offset(address, PciHeader.VendorId);
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
