using System.Text;
using ActorVmm.Machine.Vcpu;
using ActorVmm.TestGuests;

namespace ActorVmm.Emulator.Tests;

/// <summary>
/// The QEMU firmware wrapper of the VFIO lane: started at the reset vector with the ROM where a PC maps it below 1 MiB,
/// it must copy the flat binary to 0x10000 and run it as a flat guest starts (the same output and exit status).
/// </summary>
public sealed class FlatBiosImageTests
{
    private const ulong RomBelowOneMiB = (ulong)FlatBiosImage.RomSegment << 4;
    private const ushort ResetVectorOffset = 0xFFF0;
    private const ulong OneMiB = 1 << 20;

    [Fact]
    public void A_wrapped_flat_guest_runs_from_the_reset_vector_with_its_output_and_exit_status()
    {
        const string Text = "from the ROM";
        const byte Status = 0x2A;
        byte[] rom = FlatBiosImage.Wrap(Guests.SerialHello(Text, Status));
        using var harness = new EmulatorHarness([0xF4], memory: OneMiB);
        harness.Vm.Memory.Write(RomBelowOneMiB, rom);
        harness.Vm.Vcpus[0].SetEntryState(new RealModeEntry(FlatBiosImage.RomSegment, ResetVectorOffset, 0, 0));
        var output = harness.CapturePortWrites(Guests.Com1);

        harness.RunToCompletion();

        Assert.Equal(Status, harness.ExitStatus);
        Assert.Equal(Text, Encoding.ASCII.GetString([.. output.Select(b => (byte)b)]));
    }

    [Fact]
    public void The_rom_is_64_KiB_with_the_flat_binary_at_its_start()
    {
        byte[] flat = Guests.SerialHello();

        byte[] rom = FlatBiosImage.Wrap(flat);

        Assert.Equal(FlatBiosImage.Size, rom.Length);
        Assert.Equal(flat, rom[..flat.Length]);
    }

    [Fact]
    public void A_binary_that_would_overlap_the_stub_is_refused()
    {
        var ex = Assert.Throws<ArgumentException>(() => FlatBiosImage.Wrap(new byte[FlatBiosImage.MaxFlatBytes + 1]));

        Assert.Contains($"1 to {FlatBiosImage.MaxFlatBytes} bytes", ex.Message, StringComparison.Ordinal);
    }
}
