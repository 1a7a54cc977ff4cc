using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using ActorVmm.TestGuests;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.Emulator.Tests;

/// <summary>
/// `out 0xF4, ax` and `out 0xF4, eax` reach the one-byte exit port with their low byte, as on a PC whose
/// chipset splits a wide access to an 8-bit ISA port into byte accesses. Before the split they were
/// dropped as unhandled and the guest halted forever.
/// </summary>
public sealed class WideExitPortTests
{
    private const byte Status = 0x2A;
    private const uint HighBytes = 0x1234_5600;

    [Theory]
    [InlineData(sizeof(ushort))]
    [InlineData(sizeof(uint))]
    public void Wide_out_to_the_one_byte_exit_port_exits_with_the_low_byte(int width)
    {
        byte[] image = GuestAssembler.Assemble16(asm =>
        {
            var halt = asm.CreateLabel();
            asm.mov(eax, HighBytes | Status);
            if (width == sizeof(ushort))
            {
                asm.@out((byte)GuestAssembler.ExitPort, ax);
            }
            else
            {
                asm.@out((byte)GuestAssembler.ExitPort, eax);
            }

            asm.Label(ref halt);
            asm.hlt();
            asm.jmp(halt);
        });
        using var harness = new EmulatorHarness(image);

        var exit = harness.RunToCompletion(TimeSpan.FromSeconds(10));

        Assert.Equal(VcpuExitReason.Stopped, exit.Reason);
        Assert.Equal(Status, harness.ExitStatus);
        Assert.Equal(1, harness.Vm.Dispatcher.Unhandled.Get(TrapBus.Pio, TrapDirection.Write));
    }
}
