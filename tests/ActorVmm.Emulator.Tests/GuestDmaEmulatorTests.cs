using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using ActorVmm.TestGuests;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.Emulator.Tests;

/// <summary>Device DMA (<see cref="GuestDma"/>) against an emulated VM: decoded-code invalidation, and RAM only.</summary>
public sealed class GuestDmaEmulatorTests
{
    private const byte Before = 0x11;
    private const byte After = 0x22;
    private const ushort ReadyPort = IoGuests.DevicePort;
    private const int ImmediateOffset = 1;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public void DMA_write_from_another_thread_over_decoded_code_is_executed_in_its_new_form()
    {
        // The routine lives at the data offset: mov al, imm8 (immediate at +1); mov dx, port; out dx, al; ret.
        byte[] routine = GuestAssembler.Assemble16(asm =>
        {
            asm.mov(al, Before);
            asm.mov(dx, IoGuests.ResultPort);
            asm.@out(dx, al);
            asm.ret();
        });
        byte[] image = GuestAssembler.Assemble16(asm =>
        {
            var wait = asm.CreateLabel();
            asm.call(GuestAssembler.DataOffset);
            asm.mov(dx, ReadyPort);
            asm.Label(ref wait);
            asm.@in(al, dx);
            asm.test(al, al);
            asm.jz(wait);
            asm.call(GuestAssembler.DataOffset);
            GuestAssembler.EmitExit(asm, 0);
        }, routine);
        using var harness = new EmulatorHarness(image);
        var dma = new GuestDma(harness.Vm.Memory);
        var results = harness.CapturePortWrites(IoGuests.ResultPort);
        int ready = 0;
        harness.Traps.Register(TrapBus.Pio, ReadyPort, 1, access => access.SetValue((ulong)Volatile.Read(ref ready)), name: "ready");

        var vcpu = harness.Vm.Vcpus[0];
        vcpu.Start();
        Assert.True(SpinWait.SpinUntil(() => !results.IsEmpty, Patience), "the routine did not run a first time");
        dma.WriteByte(GuestAssembler.LoadAddress + GuestAssembler.DataOffset + ImmediateOffset, After);
        Volatile.Write(ref ready, 1);

        Assert.Equal(VcpuExitReason.Stopped, EmulatorHarness.WaitForExit(vcpu, Patience)?.Reason);
        Assert.Equal([(ulong)Before, After], results.ToArray());
    }

    [Fact]
    public void DMA_at_a_registered_MMIO_address_is_an_error_for_the_request_and_never_reaches_the_device()
    {
        using var vm = new EmulatorVm(new VmSpec("dma", X86MemoryMap.MmioHoleStart));
        int dispatched = 0;
        vm.Traps.ClaimWriter().Register(TrapBus.Mmio, X86MemoryMap.PciMmioBase, 0x1000, _ => Interlocked.Increment(ref dispatched), name: "bar");
        var dma = new GuestDma(vm.Memory);

        Assert.Throws<GuestMemoryException>(() => dma.ReadUInt32(X86MemoryMap.PciMmioBase));
        Assert.Throws<GuestMemoryException>(() => dma.WriteUInt32(X86MemoryMap.PciMmioBase, 1));
        Assert.Throws<GuestMemoryException>(() => dma.WriteUInt64(X86MemoryMap.MmioHoleStart - sizeof(uint), 1));

        Assert.Equal(0, dispatched);
        Assert.Equal(0UL, vm.Memory.Read<uint>(X86MemoryMap.MmioHoleStart - sizeof(uint)));
    }
}
