using System.Globalization;
using ActorVmm.Devices.Platforms;
using ActorVmm.Devices.Rtc;
using ActorVmm.Emulator;
using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using ActorVmm.TestGuests;
using static ActorVmm.Devices.Rtc.Mc146818Rtc;

namespace ActorVmm.Kvm.Tests.Kvm;

/// <summary>
/// Both backends build guest RAM from the same <see cref="MemoryLayout"/>: a long-mode guest with more RAM than fits below
/// the x86 MMIO hole sees RAM just below the hole and at 4 GiB, the MMIO bus inside the hole and across the end of RAM,
/// and CMOS memory sizes that match — on the emulator everywhere, and identically on KVM where /dev/kvm opens.
/// </summary>
public sealed class SameMemoryMapTests
{
    private const ulong MiB = 1UL << 20;
    private const ulong KiB = 1UL << 10;

    // RAM reaches past the hole start, so 16 MiB of it continue at 4 GiB (MAP_NORESERVE: untouched pages cost nothing).
    private const ulong RamAbove4GiB = 16 * MiB;
    private const ulong RamSize = X86MemoryMap.MmioHoleStart + RamAbove4GiB;
    private const ulong MarkerSize = sizeof(ulong);
    private const uint AllOnes = uint.MaxValue;
    private const int ByteBits = 8;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static readonly MemoryMapGuests.Probe Probe = new(
        BelowHole: X86MemoryMap.MmioHoleStart - (2 * MarkerSize),
        AboveFourGiB: X86MemoryMap.FourGiB,
        InHole: X86MemoryMap.PciMmioBase,
        RamEnd: X86MemoryMap.MmioHoleStart,
        CmosIndices:
        [
            BaseMemoryLowIndex, BaseMemoryLowIndex + 1,
            ExtendedMemoryLowIndex, ExtendedMemoryLowIndex + 1,
            MemoryAbove16MiBLowIndex, MemoryAbove16MiBLowIndex + 1,
            MemoryAbove4GiBIndex, MemoryAbove4GiBIndex + 1, MemoryAbove4GiBIndex + 2,
        ]);

    [Fact]
    public void Emulator_guest_sees_RAM_around_the_hole_the_MMIO_bus_inside_it_and_CMOS_sizes_from_the_layout()
    {
        using var emulator = new EmulatorHypervisor();

        var trace = Run(emulator);

        Assert.Equal(Expected(MemoryMap.X86.Layout(RamSize)), trace);
    }

    [KvmFact]
    public void KVM_guest_sees_the_same_memory_map_as_the_emulator()
    {
        using var kvm = new KvmHypervisor();
        using var emulator = new EmulatorHypervisor();

        var onKvm = Run(kvm);
        var onEmulator = Run(emulator);

        Assert.Equal(Expected(MemoryMap.X86.Layout(RamSize)), onKvm);
        Assert.Equal(onEmulator, onKvm);
    }

    [KvmFact]
    public void KVM_memory_slots_are_the_layout_s_RAM_slots_in_one_host_mapping()
    {
        using var kvm = new KvmHypervisor();
        using var vm = kvm.CreateVm(new VmSpec("slots", RamSize));

        var expected = MemoryMap.X86.Layout(RamSize).RamSlots;
        Assert.Equal(expected.Select(s => (s.Slot, s.GuestPhysicalAddress, s.Size)), vm.Memory.Regions.Select(r => (r.Slot, r.GuestPhysicalAddress, r.Size)));
        var regions = vm.Memory.Regions;
        Assert.Equal((nint)expected[1].HostOffset, regions[1].HostAddress - regions[0].HostAddress);
    }

    /// <summary>What the probe must report for <paramref name="layout"/>: the markers, all ones from the hole, the straddle split, the CMOS bytes.</summary>
    private static List<string> Expected(MemoryLayout layout)
    {
        var cmos = X86Platform.CmosMemory(layout);
        ulong extendedKiB = Math.Min((cmos.BelowFourGiB - MiB) / KiB, ushort.MaxValue);
        ulong above16 = Math.Min((cmos.BelowFourGiB - (16 * MiB)) / (64 * KiB), ushort.MaxValue);
        ulong above4 = cmos.AboveFourGiB / (64 * KiB);
        uint straddleLow = unchecked((uint)MemoryMapGuests.StraddleMarker);
        var lines = new List<string>();
        lines.AddRange(Report64(MemoryMapGuests.LowMarker));
        lines.AddRange(Report64(MemoryMapGuests.HighMarker));
        lines.AddRange(Report64(((ulong)AllOnes << 32) | AllOnes));
        lines.Add(Report(straddleLow));
        lines.AddRange(Report64(((ulong)AllOnes << 32) | straddleLow));
        lines.AddRange(
            new[] { (ulong)BaseMemoryKiB, extendedKiB, above16 }.SelectMany(word => new[] { Report((uint)(word & 0xFF)), Report((uint)(word >> ByteBits)) }));
        lines.AddRange(Enumerable.Range(0, 3).Select(i => Report((uint)((above4 >> (i * ByteBits)) & 0xFF))));

        // Unhandled MMIO: the hole read and the straddling read's upper half; the straddling store's upper half.
        lines.Add(Unhandled(reads: 2, writes: 1));
        lines.Add("exit 0");
        return lines;
    }

    private static List<string> Run(IHypervisor hypervisor)
    {
        using var vm = hypervisor.CreateVm(new VmSpec($"map-{hypervisor.Name}", RamSize));
        var traps = vm.Traps.ClaimWriter();
        var rtc = new RtcDevice(TimeProvider.System, vm.GetInterruptLine(RtcDevice.Irq), X86Platform.CmosMemory(vm.Layout));
        for (int i = 0; i < rtc.Regions.Count; i++)
        {
            int region = i;
            var r = rtc.Regions[i];
            traps.Register(r.Bus, r.Base, r.Length, access => rtc.HandleTrap(region, access), r.Flags, "rtc");
        }

        var lines = new List<string>();
        int? status = null;
        var vcpu = vm.Vcpus[0];
        traps.Register(TrapBus.Pio, MemoryMapGuests.ReportPort, sizeof(uint), access => lines.Add(Report((uint)access.Value)), name: "report");
        traps.Register(TrapBus.Pio, GuestAssembler.ExitPort, 1, access =>
        {
            status = (int)(access.Value & 0xFF);
            vcpu.Stop(TimeSpan.Zero);
        }, name: "exit");
        vm.Memory.Write(MemoryMapGuests.CodeAddress, MemoryMapGuests.Build(Probe));

        vcpu.SetEntryState(new LongModeEntry(MemoryMapGuests.CodeAddress, MemoryMapGuests.StackAddress));
        vcpu.Start();
        Assert.True(vcpu.Completion.Wait(Timeout), $"the guest did not finish on {hypervisor.Name}");

        var unhandled = vm.Dispatcher.Unhandled;
        lines.Add(Unhandled(unhandled.Get(TrapBus.Mmio, TrapDirection.Read), unhandled.Get(TrapBus.Mmio, TrapDirection.Write)));
        lines.Add($"exit {status?.ToString(CultureInfo.InvariantCulture) ?? "none"} {(vcpu.Completion.Result.Reason == VcpuExitReason.Stopped ? string.Empty : vcpu.Completion.Result.ToString())}".TrimEnd());
        return lines;
    }

    private static string Report(uint value) => string.Create(CultureInfo.InvariantCulture, $"report 0x{value:X8}");

    private static string[] Report64(ulong value) => [Report((uint)value), Report((uint)(value >> 32))];

    private static string Unhandled(long reads, long writes) => string.Create(CultureInfo.InvariantCulture, $"unhandled mmio reads={reads} writes={writes}");
}
