using System.Collections.Concurrent;
using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Pci.Msix;
using ActorVmm.Devices.Tests.Support;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Traps;
using ActorVmm.TestSupport;
using ActorVmm.TestSupport.Pci;

namespace ActorVmm.Devices.Tests.Pci;

/// <summary>
/// The platform side of PCI: BAR assignment from the windows, devices built from <see cref="PciMachine"/> definitions
/// (one region per BAR, moved through the device's own region capabilities), rebuilds that keep the BARs, INTx on the
/// swizzled line and MSI-X through the VM's MSI routes.
/// </summary>
public sealed class PciMachineTests
{
    private const ulong RamSize = 1 << 20;
    private const uint EchoValue = 0x1234_5678;
    private const byte MsiVector = 0x41;
    private static readonly MemoryLayout Layout = MemoryMap.X86.Layout(RamSize);
    private static readonly PciAddress EchoAddress = new(0, PciEchoDevice.Slot, 0);

    private readonly RecordingIntxLines _intx = new();
    private readonly List<RecordingMsiRoute> _routes = [];

    [Fact]
    public void Bars_are_assigned_naturally_aligned_from_the_x86_windows_io_from_0x6200_and_64_bit_BARs_above_RAM()
    {
        var windows = PciBarWindows.X86(Layout);
        var allocator = new PciBarAllocator(windows);

        var first = allocator.Assign("first", PciEchoDevice.FunctionDefinition);
        var second = allocator.Assign("second", PciEchoDevice.FunctionDefinition);

        ulong memory64 = Layout.Window(X86MemoryMap.PciMmio64Name).Base;
        Assert.Equal(X86MemoryMap.PciIoBase, first[PciEchoDevice.IoBar]);
        Assert.Equal(X86MemoryMap.PciMmioBase, first[PciEchoDevice.Memory32Bar]);
        Assert.Equal(memory64, first[PciEchoDevice.Memory64Bar]);
        Assert.Equal(X86MemoryMap.PciIoBase + PciEchoDevice.IoBarSize, second[PciEchoDevice.IoBar]);
        Assert.Equal(X86MemoryMap.PciMmioBase + PciEchoDevice.Memory32BarSize, second[PciEchoDevice.Memory32Bar]);
        Assert.Equal(memory64 + PciEchoDevice.Memory64BarSize, second[PciEchoDevice.Memory64Bar]);
        Assert.True(memory64 >= X86MemoryMap.FourGiB);
    }

    [Fact]
    public void A_window_without_room_for_a_BAR_refuses_it_naming_the_device_and_the_window()
    {
        var x86 = PciBarWindows.X86(Layout);
        var tiny = x86 with { Memory32 = x86.Memory32 with { Size = PciEchoDevice.Memory32BarSize / 2 } };

        var error = Assert.Throws<InvalidOperationException>(() => new PciBarAllocator(tiny).Assign("big", PciEchoDevice.FunctionDefinition));

        Assert.Contains("'big'", error.Message, StringComparison.Ordinal);
        Assert.Contains(MemoryMap.PciMmioName, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Fixed_BARs_are_taken_as_given_and_the_windows_stay_whole_for_the_devices_after_them()
    {
        const ulong FixedMemory = X86MemoryMap.FramebufferBase;
        const ulong FixedIo = 0x5000;
        var machine = Machine();
        var fixedBars = new Dictionary<int, ulong>
        {
            [PciEchoDevice.IoBar] = FixedIo,
            [PciEchoDevice.Memory32Bar] = FixedMemory,
            [PciEchoDevice.Memory64Bar] = FixedMemory + PciEchoDevice.Memory64BarSize,
        };

        machine.Add(PciEchoDevice.Definition() with { Name = "fixed", Slot = 1, FixedBars = fixedBars });
        machine.Add(PciEchoDevice.Definition() with { Name = "assigned", Slot = 2 });

        Assert.Equal(fixedBars, machine.Planned[0].Bars);
        Assert.Equal(X86MemoryMap.PciIoBase, machine.Planned[1].Bars[PciEchoDevice.IoBar]);
        Assert.Equal(X86MemoryMap.PciMmioBase, machine.Planned[1].Bars[PciEchoDevice.Memory32Bar]);
    }

    [Theory]
    [InlineData(PciEchoDevice.IoBar, X86MemoryMap.PciIoBase)]
    [InlineData(PciEchoDevice.IoBar, 0xFFFF_0000UL)]
    [InlineData(PciEchoDevice.Memory32Bar, X86MemoryMap.FramebufferBase + 0x10)]
    [InlineData(PciEchoDevice.Memory32Bar, X86MemoryMap.PciMmioBase)]
    [InlineData(PciEchoDevice.Memory32Bar, 0UL)]
    [InlineData(PciEchoDevice.Memory64Bar, -1)]
    public void A_fixed_BAR_that_is_missing_misaligned_out_of_its_space_or_inside_a_window_is_refused(int bar, long address)
    {
        var fixedBars = new Dictionary<int, ulong>
        {
            [PciEchoDevice.IoBar] = 0x5000,
            [PciEchoDevice.Memory32Bar] = X86MemoryMap.FramebufferBase,
            [PciEchoDevice.Memory64Bar] = X86MemoryMap.FramebufferBase + PciEchoDevice.Memory64BarSize,
        };
        if (address < 0)
        {
            fixedBars.Remove(bar);
        }
        else
        {
            fixedBars[bar] = (ulong)address;
        }

        var error = Assert.Throws<ArgumentException>(() => Machine().Add(PciEchoDevice.Definition() with { FixedBars = fixedBars }));

        Assert.Contains($"BAR {bar} of", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Slot_0_and_interrupts_the_platform_does_not_deliver_are_refused_when_the_device_is_added()
    {
        Assert.Throws<ArgumentException>(() => Machine().Add(PciEchoDevice.Definition(slot: 0)));
        Assert.Throws<InvalidOperationException>(() => Machine(intx: false).Add(PciEchoDevice.Definition()));
        Assert.Throws<InvalidOperationException>(() => Machine(msi: false).Add(PciEchoDevice.Definition()));
    }

    [Fact]
    public void A_PCI_device_declares_one_region_per_BAR_where_it_was_assigned_decoding_and_the_host_bridge_lists_it()
    {
        var machine = Machine();
        var definition = machine.Add(PciEchoDevice.Definition());
        var bars = machine.Planned.Single().Bars;

        var device = definition.Factory(Context(definition.Name, new DeviceRegionControls()));

        Assert.Equal(
            PciEchoDevice.BarIndices.Select(b => new DeviceRegion(PciEchoDevice.FunctionDefinition.Bar(b)!.Bus, bars[b], PciEchoDevice.FunctionDefinition.Bar(b)!.Size)),
            device.Regions);
        string line = Assert.Single(machine.Bus.Describe(), l => l.StartsWith(EchoAddress.ToString(), StringComparison.Ordinal));
        Assert.Contains("cmd io,mem ", line, StringComparison.Ordinal);
        Assert.Contains($"BAR{PciEchoDevice.Memory32Bar} mem32 0x{bars[PciEchoDevice.Memory32Bar]:x} [", line, StringComparison.Ordinal);
    }

    [Fact]
    public void A_BAR_write_through_0xCF8_moves_the_region_so_the_device_answers_only_at_the_new_address()
    {
        var (machine, bus, _, _) = Attached();
        ulong old = machine.Planned.Single().Bars[PciEchoDevice.Memory32Bar];

        ConfigWrite(bus, PciDeviceContext.BarRegister(PciEchoDevice.Memory32Bar), PciEchoGuest.NewMemory32);

        Assert.Equal(PciEchoDevice.IdentityBase | PciEchoDevice.Memory32Bar, bus.Read(TrapBus.Mmio, PciEchoGuest.NewMemory32 + PciEchoDevice.IdentityRegister, sizeof(uint)));
        Assert.Equal(uint.MaxValue, bus.Read(TrapBus.Mmio, old + PciEchoDevice.IdentityRegister, sizeof(uint)));
    }

    [Fact]
    public async Task While_one_vCPU_moves_a_BAR_back_and_forth_another_hammering_the_device_only_ever_sees_it_or_all_ones_and_each_move_is_visible_when_it_returns()
    {
        const int Moves = 2000;
        const int HammerVcpu = 1;
        var (machine, bus, _, _) = Attached();
        ulong[] places = [machine.Planned.Single().Bars[PciEchoDevice.Memory32Bar], PciEchoGuest.NewMemory32];
        uint identity = PciEchoDevice.IdentityBase | PciEchoDevice.Memory32Bar;
        var unexpected = new ConcurrentBag<string>();
        using var stop = new CancellationTokenSource();
        long rounds = 0;
        var hammer = Task.Run(() =>
        {
            Span<byte> data = stackalloc byte[sizeof(uint)];
            while (!stop.IsCancellationRequested)
            {
                foreach (ulong place in places)
                {
                    var outcome = bus.Dispatcher.Dispatch(HammerVcpu, TrapBus.Mmio, place + PciEchoDevice.IdentityRegister, TrapDirection.Read, data);
                    uint value = (uint)TrapAccess.ReadLittleEndian(data);
                    // Split: the hot path's snapshot missed (the BAR had just left) and the miss path's newer snapshot
                    // found the whole access at its new place; still one snapshot per access, so the value is whole.
                    if (outcome is not (DispatchOutcome.Handled or DispatchOutcome.Unhandled or DispatchOutcome.Split) || (value != identity && value != uint.MaxValue))
                    {
                        unexpected.Add($"{outcome} 0x{value:X8} at 0x{place:X}");
                    }
                }

                Interlocked.Increment(ref rounds);
            }
        });
        Assert.True(SpinWait.SpinUntil(() => Interlocked.Read(ref rounds) > 0, TimeSpan.FromSeconds(30)), "the hammering vCPU never ran");

        var stale = new List<string>();
        for (int move = 0; move < Moves; move++)
        {
            ulong to = places[(move + 1) % 2], from = places[move % 2];
            ConfigWrite(bus, PciDeviceContext.BarRegister(PciEchoDevice.Memory32Bar), (uint)to);
            (ulong New, ulong Old) seen = (bus.Read(TrapBus.Mmio, to + PciEchoDevice.IdentityRegister, sizeof(uint)), bus.Read(TrapBus.Mmio, from + PciEchoDevice.IdentityRegister, sizeof(uint)));
            if (seen != (identity, uint.MaxValue))
            {
                stale.Add($"move {move}: new 0x{seen.New:X8}, old 0x{seen.Old:X8}");
            }
        }

        long roundsByTheLastMove = Interlocked.Read(ref rounds);
        await stop.CancelAsync();
        await hammer;
        Assert.True(roundsByTheLastMove > 1, $"the hammering vCPU ran {roundsByTheLastMove} round(s) by the last move");
        Assert.Empty(stale);
        Assert.Empty(unexpected);
    }

    [Fact]
    public void A_device_rebuilt_from_its_captured_state_keeps_its_moved_BARs_command_and_registers()
    {
        var (machine, bus, device, definition) = Attached();
        ConfigWrite(bus, PciDeviceContext.BarRegister(PciEchoDevice.Memory32Bar), PciEchoGuest.NewMemory32);
        bus.Write(TrapBus.Mmio, PciEchoGuest.NewMemory32 + PciEchoDevice.EchoRegister, sizeof(uint), EchoValue);
        var state = device.CaptureState();

        var rebuilt = (PciEchoDevice)definition.Factory(Context(PciEchoDevice.DeviceName, new DeviceRegionControls(), state));

        var memory32 = rebuilt.Regions[PciEchoDevice.BarIndices.ToList().IndexOf(PciEchoDevice.Memory32Bar)];
        Assert.Equal((PciEchoGuest.NewMemory32, true), (memory32.Base, memory32.Enabled));
        var before = (PciEchoState)state;
        var after = (PciEchoState)rebuilt.CaptureState();
        Assert.Equal(before.Function.Config.ToArray(), after.Function.Config.ToArray());
        Assert.Equal(EchoValue, after.Echo[PciEchoDevice.BarIndices.ToList().IndexOf(PciEchoDevice.Memory32Bar)]);
        Assert.Equal(before.Echo.ToArray(), after.Echo.ToArray());
        Assert.Same(rebuilt.Function, machine.Bus.Find(EchoAddress));
        Assert.Equal(PciEchoGuest.NewMemory32, rebuilt.Function.ReadConfig(PciDeviceContext.BarRegister(PciEchoDevice.Memory32Bar), sizeof(uint)));
    }

    [Fact]
    public void The_INTx_register_drives_the_swizzled_IOAPIC_line_of_the_devices_slot()
    {
        var (_, bus, _, _) = Attached();
        ulong io = X86MemoryMap.PciIoBase;
        int gsi = PciIntxRouting.X86IoApicGsis[PciIntxRouting.Swizzle(PciEchoDevice.Slot, PciInterruptPin.IntA)];

        bus.Write(TrapBus.Pio, io + PciEchoDevice.InterruptRegister, sizeof(uint), 1);
        bool raised = _intx.Level(gsi);
        bus.Write(TrapBus.Pio, io + PciEchoDevice.InterruptRegister, sizeof(uint), 0);

        Assert.True(raised);
        Assert.False(_intx.Level(gsi));
    }

    [Fact]
    public void MSI_X_vectors_are_VM_MSI_routes_created_once_per_vector_programmed_from_the_table_and_kept_by_a_rebuilt_device()
    {
        var (machine, bus, device, definition) = Attached();
        ulong table = machine.Planned.Single().Bars[PciEchoDevice.Memory32Bar] + PciEchoDevice.MsixTableOffset;
        var message = MsiMessage.Fixed(destinationApicId: 0, MsiVector);
        bus.Write(TrapBus.Mmio, table + MsixRegisters.EntryAddressLow, sizeof(uint), message.AddressLow);
        bus.Write(TrapBus.Mmio, table + MsixRegisters.EntryAddressHigh, sizeof(uint), message.AddressHigh);
        bus.Write(TrapBus.Mmio, table + MsixRegisters.EntryData, sizeof(uint), message.Data);
        bus.Write(TrapBus.Mmio, table + MsixRegisters.EntryVectorControl, sizeof(uint), 0);
        int capability = (int)ConfigRead(bus, PciHeader.CapabilitiesPointer) & byte.MaxValue;
        ConfigWrite(bus, capability, ConfigRead(bus, capability) | ((uint)MsixRegisters.Enable << 16));

        bus.Write(TrapBus.Mmio, table - PciEchoDevice.MsixTableOffset + PciEchoDevice.MsixTriggerRegister, sizeof(uint), 0);
        var rebuilt = definition.Factory(Context(PciEchoDevice.DeviceName, new DeviceRegionControls(), device.CaptureState()));

        Assert.Equal(PciEchoDevice.MsixVectors, _routes.Count);
        Assert.Equal([message], _routes[0].Delivered);
        Assert.Empty(_routes[1].Delivered);
        Assert.Equal(message, _routes[0].Message);
        Assert.True(((PciEchoDevice)rebuilt).Function.MsixEnabled);
    }

    private PciMachine Machine(bool intx = true, bool msi = true) => new(
        PciConfigWindows.For(MemoryMap.X86),
        PciBarWindows.X86(Layout),
        intx ? new PciIntxRouting(PciIntxRouting.X86IoApicGsis, _intx.Connect) : null,
        msi ? CreateRoute : null);

    private IMsiRoute CreateRoute(MsiMessage message)
    {
        var route = new RecordingMsiRoute(message);
        _routes.Add(route);
        return route;
    }

    /// <summary>The host bridge and the echo device on one bus, registered and granted as the supervisor does.</summary>
    private (PciMachine Machine, DeviceBus Bus, IDevice Device, DeviceDefinition Definition) Attached()
    {
        var machine = Machine();
        var bridgeDefinition = machine.HostBridge();
        var echoDefinition = machine.Add(PciEchoDevice.Definition());
        var bus = new DeviceBus();
        bus.Attach(bridgeDefinition.Factory(Context(bridgeDefinition.Name, new DeviceRegionControls())));
        var regions = new DeviceRegionControls();
        var device = echoDefinition.Factory(Context(echoDefinition.Name, regions));
        bus.Attach(device, regions);
        return (machine, bus, device, echoDefinition);
    }

    private static DeviceContext Context(string name, DeviceRegionControls regions, DeviceState? state = null) =>
        new(name, TestDeviceContext.Create(name, TimeProvider.System).Environment, new NoMailbox(), new GuestInputQueue(), state, regions);

    private static uint ConfigRead(DeviceBus bus, int register)
    {
        bus.Write(TrapBus.Pio, PciHostBridgeDevice.ConfigAddressPort, sizeof(uint), PciConfigAddress.For(EchoAddress, register).Value);
        return (uint)bus.Read(TrapBus.Pio, PciHostBridgeDevice.ConfigDataPort, sizeof(uint));
    }

    private static void ConfigWrite(DeviceBus bus, int register, uint value)
    {
        bus.Write(TrapBus.Pio, PciHostBridgeDevice.ConfigAddressPort, sizeof(uint), PciConfigAddress.For(EchoAddress, register).Value);
        bus.Write(TrapBus.Pio, PciHostBridgeDevice.ConfigDataPort, sizeof(uint), value);
    }

    private sealed class NoMailbox : IDeviceMailbox
    {
        public void Post(object message)
        {
        }
    }

    private sealed class RecordingMsiRoute(MsiMessage message) : IMsiRoute
    {
        public MsiMessage Message { get; private set; } = message;

        public List<MsiMessage> Delivered { get; } = [];

        public void Update(MsiMessage message) => Message = message;

        public void Trigger() => Delivered.Add(Message);

        public void Dispose()
        {
        }
    }
}
