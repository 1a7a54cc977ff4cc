using System.Collections.Concurrent;
using ActorVmm.Devices;
using ActorVmm.Emulator;
using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using ActorVmm.TestGuests;

namespace ActorVmm.Actors.Tests.Devices.Support;

/// <summary>
/// An emulator VM running a flat binary, with devices registered straight into its trap table
/// (as the supervisor will) and the exit port stopping the VM.
/// </summary>
public sealed class EmulatorRig : IDisposable
{
    public const ulong Memory = 512 * 1024;

    public static readonly TimeSpan GuestTimeout = TimeSpan.FromSeconds(30);

    private int _exitStatus = -1;

    public EmulatorRig(byte[] image)
    {
        Hypervisor = new EmulatorHypervisor();
        Vm = (EmulatorVm)Hypervisor.CreateVm(new VmSpec("devices", Memory, 1));
        Vm.Vcpus[0].SetEntryState(FlatBinaryLoader.Load(Vm.Memory, image));
        Traps = Vm.Traps.ClaimWriter();
        Traps.Register(TrapBus.Pio, GuestAssembler.ExitPort, 1, OnExitPort, name: "exit");
    }

    public EmulatorHypervisor Hypervisor { get; }

    public EmulatorVm Vm { get; }

    /// <summary>The VM table's writer, claimed here in the supervisor's place.</summary>
    public TrapTableWriter Traps { get; }

    public int ExitStatus => Volatile.Read(ref _exitStatus);

    public void Attach(IDevice device)
    {
        for (int i = 0; i < device.Regions.Count; i++)
        {
            int region = i;
            var r = device.Regions[i];
            Traps.Register(r.Bus, r.Base, r.Length, access => device.HandleTrap(region, access), r.Flags, $"{device.Name}[{region}]");
        }
    }

    public ConcurrentQueue<ulong> CapturePortWrites(ushort port, ulong length = 1)
    {
        var writes = new ConcurrentQueue<ulong>();
        Traps.Register(TrapBus.Pio, port, length, access =>
        {
            if (access.IsWrite)
            {
                writes.Enqueue(access.Value);
            }
        }, name: $"capture-{port:X}");
        return writes;
    }

    public VcpuExit Run()
    {
        var vcpu = Vm.Vcpus[0];
        vcpu.Start();
        if (!vcpu.Completion.Wait(GuestTimeout))
        {
            vcpu.Stop(TimeSpan.FromSeconds(5));
            throw new TimeoutException($"The guest did not finish within {GuestTimeout}");
        }

        return vcpu.Completion.Result;
    }

    private void OnExitPort(TrapAccess access)
    {
        if (!access.IsWrite)
        {
            return;
        }

        Volatile.Write(ref _exitStatus, (int)(access.Value & 0xFF));
        foreach (var vcpu in Vm.Vcpus)
        {
            vcpu.Stop(TimeSpan.Zero);
        }
    }

    public void Dispose()
    {
        Vm.Dispose();
        Hypervisor.Dispose();
    }
}
