using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using ActorVmm.TestGuests;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.Emulator.Tests;

public sealed class LongModeEntryTests
{
    private const ulong Memory = 4 * 1024 * 1024;
    private const ulong CodeAddress = 0x20_0000;
    private const ulong StackAddress = 0x30_0000;
    private const ulong BootParams = 0x7000;

    [Fact]
    public void Long_mode_entry_starts_64_bit_code_with_paging_and_boot_params_in_rsi()
    {
        using var vm = new EmulatorVm(new VmSpec("long", Memory));
        var asm = new Assembler(64);
        asm.mov(rax, rsi);
        asm.mov(dx, IoGuests.ResultPort);
        asm.@out(dx, eax);
        asm.mov(rax, rsp);
        asm.@out(dx, eax);
        GuestAssembler.EmitExit(asm, 0);
        using var stream = new MemoryStream();
        asm.Assemble(new StreamCodeWriter(stream), CodeAddress);
        vm.Memory.Write(CodeAddress, stream.ToArray());
        var results = new List<ulong>();
        var vcpu = vm.Vcpus[0];
        var traps = vm.Traps.ClaimWriter();
        traps.Register(TrapBus.Pio, IoGuests.ResultPort, 4, access => results.Add(access.Value), name: "result");
        traps.Register(TrapBus.Pio, GuestAssembler.ExitPort, 1, _ => vcpu.Stop(TimeSpan.Zero), name: "exit");

        vcpu.SetEntryState(new LongModeEntry(CodeAddress, StackAddress, BootParams));
        vcpu.Start();

        Assert.Equal(VcpuExitReason.Stopped, EmulatorHarness.WaitForExit(vcpu, EmulatorHarness.GuestTimeout)?.Reason);
        Assert.Equal([BootParams, StackAddress], results);
        Assert.Equal(64, vm.Core(0).Bitness);
    }
}
