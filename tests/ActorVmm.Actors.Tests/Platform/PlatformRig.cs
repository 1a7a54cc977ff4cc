using ActorVmm.Actors.Supervision;
using ActorVmm.Actors.Tests.Fakes;
using ActorVmm.Devices;
using ActorVmm.Devices.Pic;
using ActorVmm.Devices.Platforms;
using ActorVmm.Emulator;
using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using Akka.Actor;
using Akka.TestKit;
using Microsoft.Extensions.Logging.Abstractions;

namespace ActorVmm.Actors.Tests.Platform;

/// <summary>
/// An emulator VM whose vCPU never runs: the test thread plays the vCPU, issuing port accesses through the VM's
/// dispatcher, while a real supervisor registers a platform's devices and their actors do the slow-path work.
/// </summary>
internal sealed class PlatformRig : IDisposable
{
    public const ulong MemorySize = 1024 * 1024;
    private const int VcpuId = 0;

    private PlatformRig(EmulatorHypervisor hypervisor, EmulatorVm vm)
    {
        Hypervisor = hypervisor;
        Vm = vm;
    }

    public EmulatorHypervisor Hypervisor { get; }

    public EmulatorVm Vm { get; }

    public IActorRef Supervisor { get; private set; } = ActorRefs.Nobody;

    public RecordingPower Power { get; } = new();

    /// <summary>
    /// Builds the VM and a supervisor, adds every device of <paramref name="platform"/> and waits until all are registered;
    /// <paramref name="console"/> is the VM's console output (drained by a sink the test started over it).
    /// </summary>
    public static PlatformRig Start(TestKitBase kit, IPlatform platform, GuestOutputBuffer console, TimeProvider? time = null)
    {
        var hypervisor = new EmulatorHypervisor();
        var vm = (EmulatorVm)hypervisor.CreateVm(new VmSpec("platform", MemorySize, 1, platform.Map));
        var rig = new PlatformRig(hypervisor, vm);
        var clock = time ?? TimeProvider.System;
        var controllerSlot = new InterruptControllerSlot();
        vm.AttachInterruptController(controllerSlot);
        var environment = new DeviceEnvironment(vm.Name, vm.Interrupts.GetSource, clock, console, rig.Power, new GuestDma(vm.Memory), controllerSlot);
        rig.Supervisor = kit.Sys.ActorOf(DeviceSupervisor.Props(vm.Dispatcher, vm.Traps.ClaimWriter(), environment));
        var probe = kit.CreateTestProbe();
        var devices = platform.CreateDevices(new PlatformContext(vm, clock, NullLoggerFactory.Instance));
        foreach (var device in devices)
        {
            rig.Supervisor.Tell(new SupervisorProtocol.AddDevice(device), probe);
            probe.ExpectMsg<SupervisorProtocol.DeviceAdded>(TimeSpan.FromSeconds(10));
        }

        return rig;
    }

    public void Out(ushort port, byte value)
    {
        Span<byte> data = [value];
        Vm.Dispatcher.Dispatch(VcpuId, TrapBus.Pio, port, TrapDirection.Write, data);
    }

    public byte In(ushort port)
    {
        Span<byte> data = [0];
        Vm.Dispatcher.Dispatch(VcpuId, TrapBus.Pio, port, TrapDirection.Read, data);
        return data[0];
    }

    public void Write(ulong address, byte value)
    {
        Span<byte> data = [value];
        Vm.Dispatcher.Dispatch(VcpuId, TrapBus.Mmio, address, TrapDirection.Write, data);
    }

    public byte Read(ulong address)
    {
        Span<byte> data = [0];
        Vm.Dispatcher.Dispatch(VcpuId, TrapBus.Mmio, address, TrapDirection.Read, data);
        return data[0];
    }

    /// <summary>Programs the 8259 pair as Linux's init_8259A does, with every input masked.</summary>
    public void InitPic(byte masterVectorBase, byte slaveVectorBase)
    {
        const byte Icw1 = Pic8259Chip.Icw1InitBit | Pic8259Chip.Icw1NeedIcw4Bit;
        const byte MasterIcw3SlaveOnIr2 = 1 << PicPair.CascadeInput;
        const byte SlaveIcw3CascadeId = PicPair.CascadeInput;
        const byte Icw4Mode8086 = 0x01;
        const byte AllMasked = 0xFF;
        ushort masterCommand = (ushort)PicDevice.DefaultMasterBase, masterData = (ushort)(masterCommand + 1);
        ushort slaveCommand = (ushort)PicDevice.DefaultSlaveBase, slaveData = (ushort)(slaveCommand + 1);
        Out(masterCommand, Icw1);
        Out(masterData, masterVectorBase);
        Out(masterData, MasterIcw3SlaveOnIr2);
        Out(masterData, Icw4Mode8086);
        Out(slaveCommand, Icw1);
        Out(slaveData, slaveVectorBase);
        Out(slaveData, SlaveIcw3CascadeId);
        Out(slaveData, Icw4Mode8086);
        Out(masterData, AllMasked);
        Out(slaveData, AllMasked);
    }

    /// <summary>Reads the interrupt request register of the PIC at <paramref name="commandPort"/> (OCW3 "read IRR").</summary>
    public byte ReadIrr(ushort commandPort)
    {
        const byte Ocw3ReadIrr = 0b0000_1000 | Pic8259Chip.Ocw3ReadRegisterBit;
        Out(commandPort, Ocw3ReadIrr);
        return In(commandPort);
    }

    public void Dispose()
    {
        Vm.Dispose();
        Hypervisor.Dispose();
    }
}
