namespace ActorVmm.Machine.Vcpu;

/// <summary>The architectural state a vCPU starts from.</summary>
public abstract record VcpuEntryState;

/// <summary>
/// 16-bit real mode entry for kvmtool-compatible flat binaries (see guest-conventions.md):
/// CS:IP = 0x1000:0000, SP = 0x8000, DS = ES = SS = FS = GS = 0x1000, FLAGS = 0x2.
/// </summary>
/// <param name="CodeSegment">CS selector (base = CS &lt;&lt; 4).</param>
/// <param name="InstructionPointer">IP.</param>
/// <param name="StackPointer">SP.</param>
/// <param name="DataSegment">DS, ES, SS, FS and GS.</param>
public sealed record RealModeEntry(ushort CodeSegment, ushort InstructionPointer, ushort StackPointer, ushort DataSegment) : VcpuEntryState
{
    /// <summary>The flat-binary entry state kvmtool uses.</summary>
    public static RealModeEntry FlatBinary { get; } = new(0x1000, 0x0000, 0x8000, 0x1000);
}
