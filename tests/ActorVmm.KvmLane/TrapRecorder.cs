using System.Globalization;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using ActorVmm.TestGuests;

namespace ActorVmm.KvmLane;

/// <summary>
/// Claims the whole port space and the MMIO space above guest RAM, records every access as one
/// line, answers reads with a value that depends only on the address and size (so both backends
/// see the same data), and stops the VM when the guest writes the exit port.
/// </summary>
public sealed class TrapRecorder
{
    /// <summary>XOR pattern mixed into read values so they are not simply the address.</summary>
    public const byte ReadPattern = 0x5A;

    /// <summary>Upper end (exclusive) of the recorded MMIO window: the 32-bit MMIO hole's start.</summary>
    public const ulong MmioWindowEnd = X86MemoryMap.MmioHoleStart;

    /// <summary>
    /// A part of the MMIO window registered with <see cref="TrapFlags.Coalesce"/>: on KVM its writes
    /// are batched in the kernel's ring, on the emulator they trap at once. Identical traces prove
    /// the ring is replayed in program order.
    /// </summary>
    public const ulong CoalescedWindowBase = 0xB_0000;

    /// <summary>Size of the coalesced part of the window.</summary>
    public const ulong CoalescedWindowLength = 0x1_0000;

    private readonly IVirtualMachine _vm;
    private readonly List<string> _lines = [];

    private TrapRecorder(IVirtualMachine vm) => _vm = vm;

    /// <summary>The recorded accesses, in order.</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    /// <summary>The status the guest wrote to the exit port, or null when it has not.</summary>
    public int? ExitStatus { get; private set; }

    /// <summary>Registers the recorder's regions on a VM whose RAM ends at <paramref name="ramEnd"/>.</summary>
    public static TrapRecorder Attach(IVirtualMachine vm, ulong ramEnd)
    {
        ArgumentNullException.ThrowIfNull(vm);
        var recorder = new TrapRecorder(vm);
        var traps = vm.Traps.ClaimWriter();
        traps.Register(TrapBus.Pio, 0, TrapTable.MaxPort + 1, recorder.OnAccess, name: "lane-pio");
        if (ramEnd >= CoalescedWindowBase)
        {
            throw new ArgumentOutOfRangeException(nameof(ramEnd), ramEnd, $"Guest RAM must end below the coalesced window at 0x{CoalescedWindowBase:X}");
        }

        ulong coalescedEnd = CoalescedWindowBase + CoalescedWindowLength;
        traps.Register(TrapBus.Mmio, ramEnd, CoalescedWindowBase - ramEnd, recorder.OnAccess, name: "lane-mmio-low");
        traps.Register(TrapBus.Mmio, CoalescedWindowBase, CoalescedWindowLength, recorder.OnAccess, TrapFlags.Coalesce, "lane-mmio-coalesced");
        traps.Register(TrapBus.Mmio, coalescedEnd, MmioWindowEnd - coalescedEnd, recorder.OnAccess, name: "lane-mmio-high");
        return recorder;
    }

    /// <summary>The value a read of <paramref name="size"/> bytes at <paramref name="address"/> returns.</summary>
    public static ulong ReadValue(ulong address, int size)
    {
        ulong value = 0;
        for (int i = 0; i < size; i++)
        {
            value |= (ulong)(byte)((address + (ulong)i) ^ ReadPattern) << (8 * i);
        }

        return value;
    }

    /// <summary>Formats one access the way both backends' traces are compared.</summary>
    public static string Format(TrapBus bus, TrapDirection direction, ulong address, int size, ulong value) =>
        string.Create(CultureInfo.InvariantCulture, $"{bus.ToString().ToLowerInvariant()} {direction.ToString().ToLowerInvariant()} 0x{address:X} {size} 0x{value:X}");

    private void OnAccess(TrapAccess access)
    {
        if (access.Direction == TrapDirection.Read)
        {
            access.SetValue(ReadValue(access.Address, access.Data.Length));
        }

        lock (_lines)
        {
            _lines.Add(Format(access.Bus, access.Direction, access.Address, access.Data.Length, access.Value));
        }

        if (access.Bus == TrapBus.Pio && access.Address == GuestAssembler.ExitPort && access.Direction == TrapDirection.Write)
        {
            ExitStatus = (int)(access.Value & 0xFF);
            _vm.Vcpus[access.VcpuId].Stop(TimeSpan.Zero);
        }
    }
}
