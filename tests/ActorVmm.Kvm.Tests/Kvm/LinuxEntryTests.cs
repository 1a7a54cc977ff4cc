using System.Buffers.Binary;
using System.Text;
using ActorVmm.Emulator;
using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Boot.Linux;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using ActorVmm.TestGuests;
using Report = ActorVmm.TestGuests.TestBzImage.Report;

namespace ActorVmm.Kvm.Tests.Kvm;

/// <summary>
/// The 64-bit boot protocol as a kernel sees it at startup_64: a synthetic bzImage whose entry code reports its
/// registers and the zero page, loaded by <see cref="LinuxLoader"/> and run on real KVM and on the emulator.
/// </summary>
public sealed class LinuxEntryTests
{
    private const ulong Ram = 64UL << 20;
    private const string CommandLine = "console=ttyS0 reboot=k";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly byte[] Initrd = [0x07, 0x07, 0x01, 0x37, 0xAA, 0xBB];

    [KvmFact]
    public void A_bzImage_entered_on_KVM_finds_the_boot_protocol_state()
    {
        using var kvm = new KvmHypervisor();
        AssertBootProtocolState(kvm);
    }

    [Fact]
    public void A_bzImage_entered_on_the_emulator_finds_the_boot_protocol_state()
    {
        using var emulator = new EmulatorHypervisor();
        AssertBootProtocolState(emulator);
    }

    [KvmTheory]
    [InlineData(1)]
    [InlineData(2)]
    public void On_KVM_a_vm_that_stops_when_halted_ends_once_every_vcpu_halts_with_interrupts_off(int vcpus)
    {
        using var kvm = new KvmHypervisor();
        using var vm = kvm.CreateVm(new VmSpec("halted", Ram, vcpus) { StopWhenHalted = true });
        var bsp = vm.Vcpus[0];
        bsp.SetEntryState(FlatBinaryLoader.Load(vm.Memory, IoGuests.HaltForever()));
        foreach (var vcpu in vm.Vcpus)
        {
            vcpu.Start();
        }

        Assert.True(bsp.Completion.Wait(Timeout), "the halted VM was not ended");
        Assert.Equal(VcpuExitReason.Shutdown, bsp.Completion.Result.Reason);
        Assert.Equal(KvmHaltWatch.HaltedMessage, bsp.Completion.Result.Message);
        Assert.All(vm.Vcpus, v => Assert.True(v.Stop(Timeout)));
    }

    private static void AssertBootProtocolState(IHypervisor hypervisor)
    {
        using var vm = hypervisor.CreateVm(new VmSpec("linux-entry", Ram));
        var reports = new List<uint>();
        var traps = vm.Traps.ClaimWriter();
        traps.Register(TrapBus.Pio, IoGuests.ResultPort, sizeof(uint), a => reports.Add((uint)a.Value), name: "result");
        traps.Register(TrapBus.Pio, GuestAssembler.ExitPort, 1, _ => vm.Vcpus[0].Stop(TimeSpan.Zero), name: "exit");
        byte[] kernel = TestBzImage.Build();
        var vcpu = vm.Vcpus[0];

        vcpu.SetEntryState(BootLoader.Load(vm, new LinuxBoot(kernel, Initrd, CommandLine)));
        vcpu.Start();

        Assert.True(vcpu.Completion.Wait(Timeout), $"the test kernel did not finish on {hypervisor.Name}");
        Assert.Equal(VcpuExitReason.Stopped, vcpu.Completion.Result.Reason);
        var plan = LinuxLoader.Plan(BzImage.Parse(kernel), (ulong)Initrd.Length, CommandLine, MemoryMap.X86.Layout(Ram));
        Assert.Equal(Enum.GetValues<Report>().Length, reports.Count);
        Assert.Equal((uint)LinuxLoader.BootParamsAddress, reports[(int)Report.BootParams]);
        Assert.Equal(LongModeEntry.CodeSelector, reports[(int)Report.CodeSegment]);
        Assert.Equal(LongModeEntry.DataSelector, reports[(int)Report.DataSegment]);
        Assert.Equal(LongModeEntry.DataSelector, reports[(int)Report.StackSegment]);
        Assert.Equal((uint)plan.E820.Count, reports[(int)Report.E820Entries]);
        Assert.Equal(BootParamsBuilder.UndefinedLoader, reports[(int)Report.TypeOfLoader]);
        Assert.Equal((uint)LinuxLoader.CommandLineAddress, reports[(int)Report.CommandLinePointer]);
        Assert.Equal((uint)plan.InitrdAddress, reports[(int)Report.RamdiskImage]);
        Assert.Equal((uint)Initrd.Length, reports[(int)Report.RamdiskSize]);
        Assert.Equal(BinaryPrimitives.ReadUInt32LittleEndian(Encoding.ASCII.GetBytes(CommandLine)), reports[(int)Report.CommandLineStart]);
        Assert.Equal(BinaryPrimitives.ReadUInt32LittleEndian(Initrd), reports[(int)Report.InitrdStart]);
        Assert.Equal(0u, reports[(int)Report.Flags] & (uint)KvmRegisterSetup.RflagsInterruptEnable);
    }
}
