using System.Diagnostics;
using ActorVmm.Kvm;
using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Vcpu;

namespace ActorVmm.KvmLane;

/// <summary>What one guest did on one backend.</summary>
/// <param name="Guest">Guest name.</param>
/// <param name="Traps">Recorded accesses, in order.</param>
/// <param name="Exit">How the vCPU ended (null on timeout).</param>
/// <param name="ExitStatus">Value written to the exit port, if any.</param>
/// <param name="Elapsed">Wall time from start to the end of the vCPU.</param>
/// <param name="CoalescedWrites">Writes replayed from KVM's coalesced ring (0 on the emulator).</param>
public sealed record GuestTrace(string Guest, IReadOnlyList<string> Traps, VcpuExit? Exit, int? ExitStatus, TimeSpan Elapsed, long CoalescedWrites)
{
    /// <summary>True when the guest ended through the exit port with status 0.</summary>
    public bool Succeeded => Exit?.Reason == VcpuExitReason.Stopped && ExitStatus == 0;

    /// <summary>The line compared across backends after the traps.</summary>
    public string Summary => $"exit={Exit?.Reason.ToString() ?? "Timeout"} status={ExitStatus?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}";
}

/// <summary>Runs a lane guest on a backend and records its trap sequence.</summary>
public static class GuestTraceRunner
{
    /// <summary>Creates a VM, loads the guest, runs the boot vCPU until it stops or <paramref name="timeout"/> passes.</summary>
    public static GuestTrace Run(IHypervisor hypervisor, LaneGuest guest, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(hypervisor);
        ArgumentNullException.ThrowIfNull(guest);
        using var vm = hypervisor.CreateVm(new VmSpec(guest.Name, LaneGuests.MemorySize));
        var recorder = TrapRecorder.Attach(vm, LaneGuests.MemorySize);
        var entry = FlatBinaryLoader.Load(vm.Memory, guest.Image);
        var vcpu = vm.Vcpus[0];
        vcpu.SetEntryState(entry);
        var clock = Stopwatch.StartNew();
        vcpu.Start();
        VcpuExit? exit = null;
        if (vcpu.Completion.Wait(timeout))
        {
            exit = vcpu.Completion.Result;
        }
        else
        {
            vcpu.Stop(timeout);
        }

        long coalesced = vcpu is VcpuThread { Core: KvmVcpuCore core } ? core.CoalescedWrites : 0;
        return new GuestTrace(guest.Name, recorder.Lines, exit, recorder.ExitStatus, clock.Elapsed, coalesced);
    }
}
