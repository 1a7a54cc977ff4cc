using System.Text;
using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Boot.Linux;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using Xunit.Abstractions;

namespace ActorVmm.Emulator.Tests.Linux;

/// <summary>
/// Boots an uncompressed Linux kernel (vmlinux, as the bzImage decompressor would leave it at 16 MiB) on one
/// emulated core with only a polled COM1, so each run skips the minutes the XZ decompressor takes in the
/// interpreter. Runs only where ACTORVMM_EMU_VMLINUX (the vmlinux) and ACTORVMM_EMU_BZIMAGE (its bzImage, for the
/// zero page) are set; docs/emulator.md says how to make them.
/// </summary>
public sealed class LinuxKernelProbeTests(ITestOutputHelper output)
{
    private const ulong Memory = 256 * 1024 * 1024;
    private const ushort Com1 = 0x3F8;
    private const ushort Com1Lsr = Com1 + 5;

    /// <summary>Line status with the transmitter empty, what an early console polls for.</summary>
    private const byte LsrTransmitterEmpty = 0x60;

    [LinuxKernelFact]
    public void The_kernel_prints_its_version_banner_on_the_emulator()
    {
        string? vmlinux = Environment.GetEnvironmentVariable("ACTORVMM_EMU_VMLINUX");
        string? bzImage = Environment.GetEnvironmentVariable("ACTORVMM_EMU_BZIMAGE");
        var seconds = double.Parse(Environment.GetEnvironmentVariable("ACTORVMM_EMU_SECONDS") ?? "60", System.Globalization.CultureInfo.InvariantCulture);
        string parameters = Environment.GetEnvironmentVariable("ACTORVMM_EMU_PARAMS") ?? string.Empty;

        using var vm = new EmulatorVm(new VmSpec("linux-probe", Memory));
        var boot = new LinuxBoot(File.ReadAllBytes(bzImage!), null, $"console=ttyS0 earlyprintk=serial nokaslr {parameters}");
        var entry = LinuxLoader.Load(vm.Memory, vm.Layout, boot, 1);
        ulong kernelEntry = ElfImage.LoadPhysical(vm.Memory, File.ReadAllBytes(vmlinux!));
        var console = new StringBuilder();
        var traps = vm.Traps.ClaimWriter();
        traps.Register(TrapBus.Pio, Com1, 8, access =>
        {
            if (access.IsWrite && access.Address == Com1)
            {
                lock (console)
                {
                    console.Append((char)access.Value);
                }
            }
            else if (!access.IsWrite)
            {
                access.SetValue(access.Address == Com1Lsr ? LsrTransmitterEmpty : 0UL);
            }
        }, name: "com1");

        var core = vm.Core(0);
        core.SetEntryState(new LongModeEntry(kernelEntry, entry.StackPointer, entry.BootParams));
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        using var sampler = new Timer(_ => core.RequestExit(), null, 1000, 1000);
        VcpuExit exit;
        var samples = new List<string>();
        do
        {
            exit = core.Run();
            samples.Add($"{exit.Reason} rip=0x{core.Rip:X} retired={core.InstructionsRetired}");
        }
        while (exit.Reason == VcpuExitReason.Interrupted && DateTime.UtcNow < deadline);

        string text;
        lock (console)
        {
            text = console.ToString();
        }

        output.WriteLine($"final exit: {exit.Reason} {exit.Message} {exit.Diagnostics}");
        foreach (string sample in samples.TakeLast(10))
        {
            output.WriteLine(sample);
        }

        output.WriteLine(text);
        Assert.Contains("Linux version", text, StringComparison.Ordinal);
    }
}
