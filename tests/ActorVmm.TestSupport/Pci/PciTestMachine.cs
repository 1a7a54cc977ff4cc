using System.Collections.Concurrent;
using ActorVmm.Devices;
using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Platforms;
using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using ActorVmm.TestGuests;

namespace ActorVmm.TestSupport.Pci;

/// <summary>
/// The x86 platform's PCI part — the host bridge and <see cref="PciEchoDevice"/>, built from the same definitions the
/// platform adds (<see cref="PciMachine"/>) — registered straight on a backend VM's trap table the way the supervisor
/// registers devices (regions, then their controls granted to the device), with a report port and the exit port: the
/// PCI guest runs on a bare backend VM (KVM tests, the nested lane) without the actor layer.
/// </summary>
public sealed class PciTestMachine : IVmPowerRequests, IDeviceMailbox
{
    private readonly IVirtualMachine _vm;
    private readonly ConcurrentQueue<uint> _reports = new();

    private PciTestMachine(IVirtualMachine vm) => _vm = vm;

    /// <summary>What the guest wrote to <see cref="PciGuests.ReportPort"/>, in order.</summary>
    public IReadOnlyList<uint> Reports => [.. _reports];

    /// <summary>The status the guest wrote to the exit port, or null.</summary>
    public int? ExitStatus { get; private set; }

    /// <summary>The host bridge's description of the bus (one line per function, BARs where they decode now).</summary>
    public IReadOnlyList<string> Functions => Bridge?.Details() ?? [];

    private PciHostBridgeDevice? Bridge { get; set; }

    /// <summary>Claims <paramref name="vm"/>'s trap table and registers the PCI devices, the report port and the exit port.</summary>
    public static PciTestMachine Attach(IVirtualMachine vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        var machine = new PciTestMachine(vm);
        var bus = new DeviceBus(vm.Traps, vm.Dispatcher);
        var pci = new PciMachine(
            PciConfigWindows.For(vm.Layout.Map),
            PciBarWindows.X86(vm.Layout),
            new PciIntxRouting(X86Platform.PciIntxLines(vm.HasInKernelIrqchip), vm.Interrupts.GetSource),
            vm.Interrupts.CreateMsiRoute);
        var environment = new DeviceEnvironment(vm.Name, vm.Interrupts.GetSource, TimeProvider.System, NullGuestOutput.Instance, machine, new GuestDma(vm.Memory));
        foreach (var definition in new[] { pci.HostBridge(), pci.Add(PciEchoDevice.Definition()) })
        {
            var regions = new DeviceRegionControls();
            var device = definition.Factory(new DeviceContext(definition.Name, environment, machine, new GuestInputQueue(), regions: regions));
            bus.Attach(device, regions);
            machine.Bridge ??= device as PciHostBridgeDevice;
        }

        bus.Writer.Register(TrapBus.Pio, PciGuests.ReportPort, sizeof(uint), access =>
        {
            if (access.IsWrite)
            {
                machine._reports.Enqueue((uint)access.Value);
            }
        }, name: "report");
        bus.Writer.Register(TrapBus.Pio, GuestAssembler.ExitPort, 1, access =>
        {
            if (access.IsWrite)
            {
                machine.RequestStop((int)access.Value, PowerRequestSource.ExitPort);
                vm.Vcpus[access.VcpuId].Stop(TimeSpan.Zero);
            }
        }, name: "exit");
        return machine;
    }

    /// <inheritdoc />
    public void RequestReset(PowerRequestSource source) => _vm.Vcpus[0].Stop(TimeSpan.Zero);

    /// <inheritdoc />
    public void RequestStop(int exitStatus, PowerRequestSource source) => ExitStatus = exitStatus;

    /// <inheritdoc />
    public void Post(object message)
    {
        // The PCI devices have no slow path.
    }
}
