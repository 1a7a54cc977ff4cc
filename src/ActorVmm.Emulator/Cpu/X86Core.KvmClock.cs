using System.Buffers.Binary;
using ActorVmm.Emulator.Time;

namespace ActorVmm.Emulator.Cpu;

/// <summary>
/// kvm-clock (KVM's paravirtual clock, Documentation/virt/kvm/x86/msr.rst and cpuid.rst): the emulator advertises
/// the hypervisor leaves with "KVMKVMKVM" and only KVM_FEATURE_CLOCKSOURCE2 and the stable bit, and fills the guest's
/// pvclock_vcpu_time_info and pvclock_wall_clock when it names them through the two MSRs. Because the TSC is the VM's
/// virtual clock at a fixed <see cref="VirtualClock.TscHz"/>, one record (TSC and system time taken at the same
/// instant, the fixed TSC→ns scale) stays exact for ever: the guest's kvm-clock and its TSC frequency
/// (kvm_get_tsc_khz, no PIT calibration) both come from the same virtual time as the APIC timers and the PIT.
/// </summary>
internal sealed partial class X86Core
{
    /// <summary>CPUID 0x40000000: highest hypervisor leaf in EAX, "KVMKVMKVM\0\0\0" in EBX, ECX, EDX.</summary>
    internal const uint CpuidHypervisorBase = 0x4000_0000;

    /// <summary>CPUID 0x40000001: KVM feature bits in EAX.</summary>
    internal const uint CpuidKvmFeatures = 0x4000_0001;

    /// <summary>KVM_FEATURE_CLOCKSOURCE2 (bit 3): kvm-clock on MSRs 0x4b564d00/01.</summary>
    internal const uint KvmFeatureClockSource2 = 1u << 3;

    /// <summary>KVM_FEATURE_CLOCKSOURCE_STABLE_BIT (bit 24): the guest may trust PVCLOCK_TSC_STABLE_BIT.</summary>
    internal const uint KvmFeatureClockSourceStable = 1u << 24;

    /// <summary>MSR_KVM_WALL_CLOCK_NEW: the guest writes the address of a pvclock_wall_clock to fill.</summary>
    internal const uint MsrKvmWallClock = 0x4B56_4D00;

    /// <summary>MSR_KVM_SYSTEM_TIME_NEW: the guest writes the address of its pvclock_vcpu_time_info, bit 0 = enable.</summary>
    internal const uint MsrKvmSystemTime = 0x4B56_4D01;

    // "KVMKVMKVM\0\0\0" as CPUID 0x40000000 returns it in EBX, ECX, EDX.
    private const uint KvmSignatureEbx = 0x4B4D_564B;
    private const uint KvmSignatureEcx = 0x564B_4D56;
    private const uint KvmSignatureEdx = 0x0000_004D;

    /// <summary>System-time MSR bit 0: the record is enabled.</summary>
    private const ulong SystemTimeEnable = 1;

    /// <summary>pvclock_vcpu_time_info: 32 bytes, version at 0, tsc_timestamp at 8, system_time at 16, mul at 24, shift at 28, flags at 29.</summary>
    private const int TimeInfoSize = 32;

    /// <summary>pvclock_wall_clock: version, seconds and nanoseconds (three u32).</summary>
    private const int WallClockSize = 12;

    /// <summary>PVCLOCK_TSC_STABLE_BIT: the TSC is synchronized across vCPUs and never goes back.</summary>
    private const byte PvclockTscStable = 1;

    private static readonly (uint Multiplier, sbyte Shift) TscToNanoseconds = TimeScale(VirtualClock.NanosecondsPerSecond, VirtualClock.TscHz);

    private ulong _kvmSystemTime;
    private ulong _kvmWallClock;

    /// <summary>
    /// KVM's kvm_get_time_scale: a 32-bit fraction and a power-of-two shift with ns = ((tsc delta shifted) × mul) ≫ 32.
    /// For the 1 GHz TSC: shift 1, mul 2^31.
    /// </summary>
    internal static (uint Multiplier, sbyte Shift) TimeScale(long scaledHz, long baseHz)
    {
        ulong tps64 = (ulong)baseHz;
        ulong scaled64 = (ulong)scaledHz;
        int shift = 0;
        while (tps64 > scaled64 * 2 || (tps64 & 0xFFFF_FFFF_0000_0000) != 0)
        {
            tps64 >>= 1;
            shift--;
        }

        uint tps32 = (uint)tps64;
        while (tps32 <= scaled64 || (scaled64 & 0xFFFF_FFFF_0000_0000) != 0)
        {
            if ((scaled64 & 0xFFFF_FFFF_0000_0000) != 0 || (tps32 & 0x8000_0000) != 0)
            {
                scaled64 >>= 1;
            }
            else
            {
                tps32 <<= 1;
            }

            shift++;
        }

        return ((uint)((scaled64 << 32) / tps32), (sbyte)shift);
    }

    private void WriteKvmSystemTime(ulong value)
    {
        _kvmSystemTime = value;
        RefreshKvmClock();
    }

    /// <summary>Fills the guest's pvclock_vcpu_time_info (when enabled and in RAM): this vCPU's TSC and the clock's ns at one instant.</summary>
    private void RefreshKvmClock()
    {
        ulong address = _kvmSystemTime & ~SystemTimeEnable;
        if ((_kvmSystemTime & SystemTimeEnable) == 0 || !_memory.IsRam(address, TimeInfoSize))
        {
            return; // KVM ignores a record outside guest memory too (the guest's clock then reads garbage: its bug)
        }

        long now = _machine.Clock.Nanoseconds;
        Span<byte> record = stackalloc byte[TimeInfoSize];
        _memory.Read(address, record);
        uint version = (BinaryPrimitives.ReadUInt32LittleEndian(record) | 1) + 1;
        BinaryPrimitives.WriteUInt32LittleEndian(record, version - 1); // odd: an update is in progress
        _memory.Write(address, record[..sizeof(uint)]);
        BinaryPrimitives.WriteUInt64LittleEndian(record[8..], VirtualClock.ToTsc(now) + (ulong)_tscOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(record[16..], (ulong)now);
        BinaryPrimitives.WriteUInt32LittleEndian(record[24..], TscToNanoseconds.Multiplier);
        record[28] = (byte)TscToNanoseconds.Shift;
        record[29] = PvclockTscStable;
        BinaryPrimitives.WriteUInt32LittleEndian(record, version);
        _memory.Write(address + sizeof(uint), record[sizeof(uint)..]);
        _memory.Write(address, record[..sizeof(uint)]);
    }

    /// <summary>Fills the guest's pvclock_wall_clock: the UTC time at which the clock (system time 0) started.</summary>
    private void WriteKvmWallClock(ulong address)
    {
        _kvmWallClock = address;
        if (!_memory.IsRam(address, WallClockSize))
        {
            return;
        }

        var boot = _machine.Clock.Time.GetUtcNow() - TimeSpan.FromTicks(_machine.Clock.Nanoseconds / 100);
        long bootNanoseconds = (boot.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
        Span<byte> record = stackalloc byte[WallClockSize];
        _memory.Read(address, record);
        uint version = (BinaryPrimitives.ReadUInt32LittleEndian(record) | 1) + 1;
        BinaryPrimitives.WriteUInt32LittleEndian(record, version);
        BinaryPrimitives.WriteUInt32LittleEndian(record[4..], (uint)(bootNanoseconds / VirtualClock.NanosecondsPerSecond));
        BinaryPrimitives.WriteUInt32LittleEndian(record[8..], (uint)(bootNanoseconds % VirtualClock.NanosecondsPerSecond));
        _memory.Write(address, record);
    }
}
