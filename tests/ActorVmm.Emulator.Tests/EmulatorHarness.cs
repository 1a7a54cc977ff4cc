using System.Collections.Concurrent;
using ActorVmm.Emulator.Cpu;
using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using ActorVmm.TestGuests;

namespace ActorVmm.Emulator.Tests;

/// <summary>
/// A VM on the emulator with a flat binary loaded, the exit port wired to stop the VM, and
/// helpers to register test devices. Everything goes through the VM's real trap table.
/// </summary>
internal sealed class EmulatorHarness : IDisposable
{
    /// <summary>Default guest RAM: 512 KiB, so the real-mode MMIO window at 0xA0000 lies outside RAM.</summary>
    public const ulong DefaultMemory = 512 * 1024;

    /// <summary>How long a test waits for a guest that should finish quickly.</summary>
    public static readonly TimeSpan GuestTimeout = TimeSpan.FromSeconds(20);

    private int _exitStatus = -1;

    /// <summary>
    /// Runs <paramref name="core"/> on the calling thread, as <see cref="X86Core.Run"/> does, but asks it to exit once
    /// <paramref name="timeout"/> (default <see cref="GuestTimeout"/>) has passed and then throws: a guest that never
    /// halts (a translation bug in its loop counter) fails its test instead of hanging the whole run.
    /// </summary>
    public static VcpuExit RunWithin(X86Core core, TimeSpan? timeout = null)
    {
        int timedOut = 0;
        var limit = timeout ?? GuestTimeout;
        VcpuExit exit;
        using (var timer = new Timer(_ =>
        {
            Volatile.Write(ref timedOut, 1);
            core.RequestExit();
        }, null, limit, Timeout.InfiniteTimeSpan))
        {
            exit = core.Run();
        }

        if (Volatile.Read(ref timedOut) != 0)
        {
            throw new TimeoutException($"The guest did not stop within {limit} (RIP 0x{core.Rip:X})");
        }

        return exit;
    }

    public EmulatorHarness(byte[] image, ulong memory = DefaultMemory, int vcpus = 1)
    {
        Hypervisor = new EmulatorHypervisor();
        Vm = (EmulatorVm)Hypervisor.CreateVm(new VmSpec("test", memory, vcpus));
        var entry = FlatBinaryLoader.Load(Vm.Memory, image);
        Vm.Vcpus[0].SetEntryState(entry);
        Traps = Vm.Traps.ClaimWriter();
        Traps.Register(TrapBus.Pio, GuestAssembler.ExitPort, 1, OnExitPort, name: "exit");
    }

    public EmulatorHypervisor Hypervisor { get; }

    public EmulatorVm Vm { get; }

    /// <summary>The VM table's writer, claimed by the harness (no supervisor here).</summary>
    public TrapTableWriter Traps { get; }

    /// <summary>The status the guest wrote to the exit port, or -1.</summary>
    public int ExitStatus => Volatile.Read(ref _exitStatus);

    /// <summary>Registers a port region whose writes are collected into the returned queue (little-endian values).</summary>
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

    /// <summary>Starts the boot vCPU and waits for it to end; returns its final exit.</summary>
    public VcpuExit RunToCompletion(TimeSpan? timeout = null)
    {
        var vcpu = Vm.Vcpus[0];
        vcpu.Start();
        if (!vcpu.Completion.Wait(timeout ?? GuestTimeout))
        {
            vcpu.Stop(TimeSpan.FromSeconds(5));
            throw new TimeoutException($"The guest did not finish within {timeout ?? GuestTimeout}");
        }

        return vcpu.Completion.Result;
    }

    /// <summary>Waits for a vCPU's final exit; null when it has not ended within <paramref name="timeout"/>.</summary>
    public static VcpuExit? WaitForExit(IVcpu vcpu, TimeSpan timeout) =>
        vcpu.Completion.Wait(timeout) ? vcpu.Completion.Result : null;

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
