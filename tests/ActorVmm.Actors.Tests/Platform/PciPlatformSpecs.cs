using System.Collections.Concurrent;
using ActorVmm.Actors.Console;
using ActorVmm.Actors.Supervision;
using ActorVmm.Actors.Tests.Fakes;
using ActorVmm.Actors.Vm;
using ActorVmm.Devices;
using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Platforms;
using ActorVmm.Emulator;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Traps;
using ActorVmm.TestGuests;
using ActorVmm.TestSupport.Pci;
using Akka.Actor;
using Xunit.Abstractions;

namespace ActorVmm.Actors.Tests.Platform;

/// <summary>
/// PCI on the default x86 platform through the whole stack: the host bridge and a PCI device registered by the supervisor,
/// BARs moved by the device through its region capabilities, a restart that keeps them, and the PCI guest on the emulator.
/// </summary>
public sealed class PciPlatformSpecs(ITestOutputHelper output) : ActorVmmTestKit(output)
{
    private const int VcpuId = 0;
    private const uint MovedEcho = 0x0BAD_CAFE;
    private static readonly TimeSpan GuestPatience = TimeSpan.FromSeconds(60);
    private static readonly PciAddress Echo = new(0, PciEchoDevice.Slot, 0);

    private static X86Platform WithEchoDevice() => new(X86PlatformOptions.Default with { PciDevices = [PciEchoDevice.Definition()] });

    private PlatformRig StartRig() => PlatformRig.Start(this, WithEchoDevice(), new GuestOutputBuffer());

    [Fact]
    public void The_x86_platform_registers_the_host_bridge_on_0xCF8_and_ECAM_and_the_device_BARs_where_they_were_assigned_and_decoding()
    {
        using var rig = StartRig();
        rig.Supervisor.Tell(SupervisorProtocol.GetDevices.Instance, TestActor);
        var report = ExpectMsg<SupervisorProtocol.DeviceReport>(Patience);

        var bridge = report.Devices.Single(d => d.Name == PciHostBridgeDevice.DeviceName);
        Assert.Equal(
            [(TrapBus.Pio, PciHostBridgeDevice.ConfigAddressPort, (ulong)PciHostBridgeDevice.PortCount), (TrapBus.Mmio, X86MemoryMap.PciConfigBase, X86MemoryMap.PciConfigSize)],
            bridge.Regions.Select(r => (r.Bus, r.Base, r.Length)));
        Assert.Contains(bridge.Details, line => line.StartsWith($"{Echo} {PciEchoDevice.DeviceName} ", StringComparison.Ordinal));
        var echo = report.Devices.Single(d => d.Name == PciEchoDevice.DeviceName);
        Assert.Equal(PciEchoDevice.BarIndices.Count, echo.Regions.Count);
        foreach (var (bar, region) in PciEchoDevice.BarIndices.Zip(echo.Regions))
        {
            ulong assigned = BarAddress(rig, bar);
            Assert.Equal((PciEchoDevice.FunctionDefinition.Bar(bar)!.Bus, assigned), (region.Bus, region.Base));
            Assert.Equal(PciEchoDevice.IdentityBase | (uint)bar, Read(rig, region.Bus, assigned + PciEchoDevice.IdentityRegister));
        }
    }

    [Fact]
    public void A_BAR_the_guest_moved_decodes_only_at_its_new_address_and_stays_there_when_the_device_is_rebuilt_after_a_fault()
    {
        using var rig = StartRig();
        Sys.EventStream.Subscribe(TestActor, typeof(SupervisorProtocol.DeviceRestarted));
        ulong old = BarAddress(rig, PciEchoDevice.Memory32Bar);
        const ulong Moved = PciEchoGuest.NewMemory32;

        // With decoding on, the BAR write moves the region before the configuration write returns.
        ConfigWrite(rig, PciDeviceContext.BarRegister(PciEchoDevice.Memory32Bar), (uint)Moved);
        Write(rig, TrapBus.Mmio, Moved + PciEchoDevice.EchoRegister, MovedEcho);
        Assert.Equal(MovedEcho, Read(rig, TrapBus.Mmio, Moved + PciEchoDevice.EchoRegister));
        Assert.Equal(uint.MaxValue, Read(rig, TrapBus.Mmio, old + PciEchoDevice.EchoRegister));

        var region = rig.Vm.Traps.Regions(TrapBus.Mmio).Single(r => r.Base == Moved && r.IsDecoding);
        rig.Supervisor.Tell(new SupervisorProtocol.HotPathFaulted(new TrapFault(region, new InvalidOperationException("the test failed the PCI device"), VcpuId, region.Base, TrapDirection.Read)));
        var restarted = ExpectMsg<SupervisorProtocol.DeviceRestarted>(Patience);

        Assert.Equal(PciEchoDevice.DeviceName, restarted.DeviceName);
        Assert.True(restarted.FromState, restarted.Detail);
        Assert.Equal((uint)Moved, ConfigRead(rig, PciDeviceContext.BarRegister(PciEchoDevice.Memory32Bar)));
        Assert.Equal(MovedEcho, Read(rig, TrapBus.Mmio, Moved + PciEchoDevice.EchoRegister));
        Assert.Equal(uint.MaxValue, Read(rig, TrapBus.Mmio, old + PciEchoDevice.EchoRegister));
    }

    [Fact]
    public void Turning_memory_decoding_off_disables_the_memory_BARs_regions_and_on_again_restores_them()
    {
        using var rig = StartRig();
        ulong bar = BarAddress(rig, PciEchoDevice.Memory32Bar);
        uint command = ConfigRead(rig, PciHeader.Command) & ushort.MaxValue;

        ConfigWrite16(rig, PciHeader.Command, (ushort)(command & ~(uint)PciCommand.MemorySpace));
        uint whileOff = Read(rig, TrapBus.Mmio, bar + PciEchoDevice.IdentityRegister);
        ushort io = (ushort)BarAddress(rig, PciEchoDevice.IoBar);
        uint ioWhileMemoryOff = Read(rig, TrapBus.Pio, io + (ulong)PciEchoDevice.IdentityRegister);
        ConfigWrite16(rig, PciHeader.Command, (ushort)command);

        Assert.Equal(uint.MaxValue, whileOff);
        Assert.Equal(PciEchoDevice.IdentityBase | PciEchoDevice.IoBar, ioWhileMemoryOff);
        Assert.Equal(PciEchoDevice.IdentityBase | PciEchoDevice.Memory32Bar, Read(rig, TrapBus.Mmio, bar + PciEchoDevice.IdentityRegister));
    }

    [Fact]
    public void PCI_guest_on_the_emulator_enumerates_bus_0_sizes_every_BAR_moves_them_and_reaches_the_device_only_at_the_new_addresses()
    {
        var reports = new ConcurrentQueue<ulong>();
        using var hypervisor = new EmulatorHypervisor();
        var definition = new VmDefinition(
            "pci-guest",
            PlatformRig.MemorySize,
            1,
            PciEchoGuest.Build(),
            [ReportPort.Definition("report", PciGuests.ReportPort, reports, sizeof(uint))],
            new ConsoleTarget("memory", () => new CollectingStream()),
            Platform: WithEchoDevice());
        var vm = Sys.ActorOf(VmActor.Props(definition, hypervisor), definition.Name);
        vm.Tell(VmProtocol.Start.Instance, TestActor);
        ExpectMsg<VmProtocol.CommandAccepted>(Patience);

        vm.Tell(VmProtocol.AwaitExit.Instance, TestActor);
        var exit = ExpectMsg<VmProtocol.Exited>(GuestPatience).Exit;
        vm.Tell(VmProtocol.GetStatus.Instance, TestActor);
        var status = ExpectMsg<VmProtocol.VmStatus>(Patience);

        Assert.Equal((VmExitReason.ExitPort, VmExit.Success), (exit.Reason, exit.ExitCode));
        Assert.Empty(PciEchoGuest.Check([.. reports.Select(r => (uint)r)], MemoryMap.X86.Layout(PlatformRig.MemorySize)));
        var functions = status.Devices.Devices.Single(d => d.Name == PciHostBridgeDevice.DeviceName).Details;
        string echo = Assert.Single(functions, line => line.StartsWith(Echo.ToString(), StringComparison.Ordinal));
        Assert.Contains($"BAR{PciEchoDevice.Memory32Bar} mem32 0x{PciEchoGuest.EcamMemory32:x} [", echo, StringComparison.Ordinal);
        Assert.Contains($"BAR{PciEchoDevice.Memory64Bar} mem64 pref 0x{PciEchoGuest.NewMemory64:x} [", echo, StringComparison.Ordinal);
    }

    private static ulong BarAddress(PlatformRig rig, int bar)
    {
        var definition = PciEchoDevice.FunctionDefinition.Bar(bar)!;
        uint low = ConfigRead(rig, PciDeviceContext.BarRegister(bar)) & ~definition.TypeBits;
        ulong high = definition.Kind == PciBarKind.Memory64 ? ConfigRead(rig, PciDeviceContext.BarRegister(bar + 1)) : 0;
        return (high << 32) | low;
    }

    private static void SelectRegister(PlatformRig rig, int register) =>
        Write(rig, TrapBus.Pio, PciHostBridgeDevice.ConfigAddressPort, PciConfigAddress.For(Echo, register).Value);

    private static uint ConfigRead(PlatformRig rig, int register)
    {
        SelectRegister(rig, register);
        return Read(rig, TrapBus.Pio, PciHostBridgeDevice.ConfigDataPort);
    }

    private static void ConfigWrite(PlatformRig rig, int register, uint value)
    {
        SelectRegister(rig, register);
        Write(rig, TrapBus.Pio, PciHostBridgeDevice.ConfigDataPort, value);
    }

    private static void ConfigWrite16(PlatformRig rig, int register, ushort value)
    {
        SelectRegister(rig, register);
        Span<byte> data = stackalloc byte[sizeof(ushort)];
        TrapAccess.WriteLittleEndian(data, value);
        rig.Vm.Dispatcher.Dispatch(VcpuId, TrapBus.Pio, PciHostBridgeDevice.ConfigDataPort, TrapDirection.Write, data);
    }

    private static uint Read(PlatformRig rig, TrapBus bus, ulong address)
    {
        Span<byte> data = stackalloc byte[sizeof(uint)];
        rig.Vm.Dispatcher.Dispatch(VcpuId, bus, address, TrapDirection.Read, data);
        return (uint)TrapAccess.ReadLittleEndian(data);
    }

    private static void Write(PlatformRig rig, TrapBus bus, ulong address, uint value)
    {
        Span<byte> data = stackalloc byte[sizeof(uint)];
        TrapAccess.WriteLittleEndian(data, value);
        rig.Vm.Dispatcher.Dispatch(VcpuId, bus, address, TrapDirection.Write, data);
    }
}
