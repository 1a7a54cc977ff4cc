using System.Collections.Concurrent;
using ActorVmm.Devices;
using ActorVmm.Devices.ExitPort;
using ActorVmm.Devices.Legacy;
using ActorVmm.Emulator;
using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using ActorVmm.TestSupport;

namespace ActorVmm.Actors.Tests.Devices;

/// <summary>
/// A VM on the emulator with a flat binary loaded and the legacy ports registered (so the exit port works);
/// devices are registered straight into the VM's trap table, as the supervisor will. Power requests stop the vCPU.
/// </summary>
internal sealed class EmulatedDevicesVm : IDisposable, IVmPowerRequests
{
    public const ulong Memory = 512 * 1024;
    public static readonly TimeSpan GuestTimeout = TimeSpan.FromSeconds(30);

    private int _exitStatus = -1;

    public EmulatedDevicesVm(byte[] image)
    {
        Hypervisor = new EmulatorHypervisor();
        Vm = (EmulatorVm)Hypervisor.CreateVm(new VmSpec("devices", Memory, 1));
        Vm.Vcpus[0].SetEntryState(FlatBinaryLoader.Load(Vm.Memory, image));
        Traps = Vm.Traps.ClaimWriter();
        Register(new LegacyPortsDevice(LegacyPortOptions.Default, this, TimeProvider.System));
        Register(new ExitPortDevice(this));
    }

    public EmulatorHypervisor Hypervisor { get; }

    public EmulatorVm Vm { get; }

    /// <summary>The VM table's writer, claimed here in the supervisor's place.</summary>
    public TrapTableWriter Traps { get; }

    /// <summary>The exit status the guest wrote, or -1.</summary>
    public int ExitStatus => Volatile.Read(ref _exitStatus);

    public ConcurrentQueue<PowerRequestSource> Resets { get; } = new();

    public void Register(IDevice device)
    {
        for (int i = 0; i < device.Regions.Count; i++)
        {
            int index = i;
            var region = device.Regions[i];
            Traps.Register(region.Bus, region.Base, region.Length, access => device.HandleTrap(index, access), region.Flags, device.Name);
        }
    }

    public MinimalTestPic AttachPic()
    {
        var pic = new MinimalTestPic();
        Vm.AttachInterruptController(pic);
        Traps.Register(TrapBus.Pio, MinimalTestPic.CommandPort, MinimalTestPic.PortCount, pic.HandlePort, name: "test-pic");
        return pic;
    }

    public void Start() => Vm.Vcpus[0].Start();

    public VcpuExit WaitForCompletion()
    {
        var vcpu = Vm.Vcpus[0];
        if (!vcpu.Completion.Wait(GuestTimeout))
        {
            vcpu.Stop(TimeSpan.FromSeconds(5));
            throw new TimeoutException($"The guest did not finish within {GuestTimeout}");
        }

        return vcpu.Completion.Result;
    }

    public VcpuExit RunToCompletion()
    {
        Start();
        return WaitForCompletion();
    }

    public void RequestReset(PowerRequestSource source)
    {
        Resets.Enqueue(source);
        StopAll();
    }

    public void RequestStop(int exitStatus, PowerRequestSource source)
    {
        Volatile.Write(ref _exitStatus, exitStatus);
        StopAll();
    }

    private void StopAll()
    {
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

/// <summary>A serial sink the test thread can read while a vCPU writes it.</summary>
internal sealed class ConcurrentSerialOutput : IGuestOutput
{
    private readonly Lock _lock = new();
    private readonly List<byte> _bytes = [];

    public void Write(ReadOnlySpan<byte> bytes)
    {
        lock (_lock)
        {
            _bytes.AddRange(bytes);
        }
    }

    public string Text
    {
        get
        {
            lock (_lock)
            {
                return System.Text.Encoding.ASCII.GetString([.. _bytes]);
            }
        }
    }
}
