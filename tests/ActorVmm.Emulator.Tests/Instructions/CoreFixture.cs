using ActorVmm.Emulator.Cpu;
using ActorVmm.Machine.Vcpu;
using Iced.Intel;

namespace ActorVmm.Emulator.Tests.Instructions;

/// <summary>One core in flat 64-bit mode (no paging) that runs code assembled with Iced one instruction at a time.</summary>
internal sealed class CoreFixture : IDisposable
{
    public const ulong CodeAddress = 0x1000;
    public const ulong DataAddress = 0x8000;
    private const ulong Memory = 1024 * 1024;

    private readonly EmulatorVm _vm = new(new VmSpec("core", Memory));

    public CoreFixture(int bitness = 64)
    {
        Core.SetFlatMode(bitness);
    }

    public X86Core Core => _vm.Core(0);

    public EmulatorVm Vm => _vm;

    /// <summary>Assembles <paramref name="emit"/> at <see cref="CodeAddress"/> and points RIP at it.</summary>
    public void Load(Action<Assembler> emit, int bitness = 64)
    {
        var asm = new Assembler(bitness);
        emit(asm);
        using var stream = new MemoryStream();
        asm.Assemble(new StreamCodeWriter(stream), CodeAddress);
        _vm.Memory.Write(CodeAddress, stream.ToArray());
        Core.Rip = CodeAddress;
    }

    /// <summary>Executes <paramref name="count"/> instructions; a fault propagates as <see cref="GuestFault"/>.</summary>
    public void Step(int count = 1)
    {
        for (int i = 0; i < count; i++)
        {
            Core.Step();
        }
    }

    public void Dispose() => _vm.Dispose();
}
