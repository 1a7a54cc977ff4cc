using ActorVmm.Machine.Traps;
using ActorVmm.TestGuests;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.Emulator.Tests;

/// <summary>
/// An access that straddles the end of RAM into MMIO is split at the page boundary, as KVM's emulator splits it:
/// the RAM part goes to RAM, the rest to the MMIO bus (before the fix the RAM half of a write was lost and a read
/// returned the bus's 0xFF for it).
/// </summary>
public sealed class RamMmioStraddleTests
{
    private const ulong RamEnd = EmulatorHarness.DefaultMemory;
    private const ushort Segment = (ushort)((RamEnd - 0x10) >> 4);
    private const ushort StraddleOffset = 0x0E;
    private const int BytesInRam = 2;
    private const int BytesOnBus = 2;
    private const uint Stored = 0x4433_2211;
    private const ushort BusAnswer = 0xBBAA;
    private const ushort StoredLowHalf = unchecked((ushort)Stored);
    private const int ByteBits = 8;

    [Fact]
    public void Dword_store_and_load_across_the_end_of_RAM_put_the_low_half_in_RAM_and_the_high_half_on_the_MMIO_bus()
    {
        byte[] image = GuestAssembler.Assemble16(asm =>
        {
            asm.mov(ax, Segment);
            asm.mov(es, ax);
            asm.mov(__dword_ptr.es[StraddleOffset], Stored);
            asm.mov(eax, __dword_ptr.es[StraddleOffset]);
            asm.mov(dx, IoGuests.ResultPort);
            asm.@out(dx, eax);
            GuestAssembler.EmitExit(asm, 0);
        });
        using var harness = new EmulatorHarness(image);
        var bus = new List<(TrapDirection Direction, ulong Address, int Length, ulong Value)>();
        harness.Traps.Register(TrapBus.Mmio, RamEnd, 0x1000, access =>
        {
            if (!access.IsWrite)
            {
                access.SetValue(BusAnswer);
            }

            bus.Add((access.Direction, access.Address, access.Length, access.Value));
        }, name: "after-ram");
        var results = harness.CapturePortWrites(IoGuests.ResultPort, sizeof(uint));

        harness.RunToCompletion();

        Assert.Equal(0, harness.ExitStatus);
        Assert.Equal(
            [(TrapDirection.Write, RamEnd, BytesOnBus, (ulong)(Stored >> (BytesInRam * ByteBits))), (TrapDirection.Read, RamEnd, BytesOnBus, (ulong)BusAnswer)],
            bus);
        Assert.Equal(StoredLowHalf, harness.Vm.Memory.Read<ushort>(RamEnd - BytesInRam));
        Assert.Equal([((ulong)BusAnswer << (BytesInRam * ByteBits)) | StoredLowHalf], results.ToArray());
    }
}
