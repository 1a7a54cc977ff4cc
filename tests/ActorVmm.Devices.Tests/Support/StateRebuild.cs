using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Traps;
using ActorVmm.TestSupport;

namespace ActorVmm.Devices.Tests.Support;

/// <summary>Everything a device did that the guest or the VM can see, in order: reads, interrupt changes, power requests, timer delays.</summary>
internal sealed class Transcript
{
    private readonly List<string> _entries = [];

    public IReadOnlyList<string> Entries => _entries;

    public IVmPowerRequests Power => new TranscriptPower(this);

    public void Add(string entry) => _entries.Add(entry);

    public void Clear() => _entries.Clear();

    public IInterruptLine Line(int irq) => new TranscriptLine(irq, this);

    private sealed class TranscriptLine(int irq, Transcript transcript) : IInterruptLine
    {
        public int Irq => irq;

        public void SetLevel(bool asserted) => transcript.Add($"IRQ {irq} {(asserted ? "high" : "low")}");

        public void Pulse() => transcript.Add($"IRQ {irq} pulse");
    }

    private sealed class TranscriptPower(Transcript transcript) : IVmPowerRequests
    {
        public void RequestReset(PowerRequestSource source) => transcript.Add($"reset requested by {source}");

        public void RequestStop(int exitStatus, PowerRequestSource source) => transcript.Add($"stop {exitStatus} requested by {source}");
    }
}

/// <summary>
/// One random step of a state property, from an FsCheck tuple: <see cref="Kind"/> picks what it does (the device's
/// test decides the meaning), the other fields are its arguments.
/// </summary>
internal readonly record struct DeviceStep(byte Kind, byte Target, byte Offset, byte SizeChoice, ulong Value)
{
    /// <summary>Access widths a step uses: every width a trap can have.</summary>
    public static readonly int[] AccessSizes = [1, 2, 4, 8];

    private const int MaxAdvanceMantissa = 1024;
    private const int MaxAdvanceShift = 20;

    public int Size => AccessSizes[SizeChoice % AccessSizes.Length];

    /// <summary>A clock advance spread from 100 ns to about a minute (mantissa from <see cref="Value"/>, binary exponent from <see cref="Target"/>).</summary>
    public TimeSpan Advance => TimeSpan.FromTicks(((long)(Value % MaxAdvanceMantissa) + 1) << (Target % MaxAdvanceShift));

    public static DeviceStep[] From(RandomSteps? steps) =>
        [.. (steps ?? []).Select(s => new DeviceStep(s.Kind, s.Target, s.Offset, s.Size, s.Value.Item))];
}

/// <summary>A device under test on its own trap bus, its outputs going to a transcript.</summary>
internal sealed class DeviceRig<TDevice>(TDevice device, Transcript transcript)
    where TDevice : IDevice
{
    public TDevice Device { get; } = device;

    public Transcript Transcript { get; } = transcript;

    public DeviceBus Bus { get; } = new(device);

    /// <summary>A guest read or write of the step's width at an offset inside one of the device's regions; reads are transcribed.</summary>
    public void Access(DeviceStep step, bool write)
    {
        var region = Device.Regions[step.Target % Device.Regions.Count];
        ulong address = region.Base + (step.Offset % region.Length);
        if (write)
        {
            Bus.Write(region.Bus, address, step.Size, step.Value);
        }
        else
        {
            Transcript.Add($"read {region.Bus} 0x{address:X}/{step.Size} = 0x{Bus.Read(region.Bus, address, step.Size):X}");
        }

        Assert.NotEqual(DispatchOutcome.Faulted, Bus.LastOutcome);
    }
}

/// <summary>The property every device state must have: a device rebuilt from its captured state cannot be told apart from the original.</summary>
internal static class StateRebuild
{
    /// <summary>
    /// Drives a power-on device through <paramref name="prefix"/>, captures its state (which must validate), builds a twin
    /// from it (which must capture the same state), then drives both through <paramref name="suffix"/> in lockstep.
    /// <paramref name="beforeStep"/> runs once per step (moving a shared clock). Every read, interrupt change, power request
    /// and timer delay of the two must be identical, and so must their final states.
    /// </summary>
    public static void AssertTwinBehavesLikeOriginal<TDevice>(
        Func<DeviceState?, Transcript, TDevice> create,
        Action<DeviceRig<TDevice>, DeviceStep> apply,
        IEnumerable<DeviceStep> prefix,
        IEnumerable<DeviceStep> suffix,
        Action<DeviceStep>? beforeStep = null)
        where TDevice : IDevice
    {
        var originalTranscript = new Transcript();
        var original = new DeviceRig<TDevice>(create(null, originalTranscript), originalTranscript);
        foreach (var step in prefix)
        {
            beforeStep?.Invoke(step);
            apply(original, step);
        }

        var state = original.Device.CaptureState();
        state.Validate();
        var twinTranscript = new Transcript();
        var twin = new DeviceRig<TDevice>(create(state, twinTranscript), twinTranscript);
        Assert.Equal(state, twin.Device.CaptureState());

        original.Transcript.Clear();
        twin.Transcript.Clear();
        foreach (var step in suffix)
        {
            beforeStep?.Invoke(step);
            apply(original, step);
            apply(twin, step);
        }

        Assert.Equal(original.Transcript.Entries, twin.Transcript.Entries);
        Assert.Equal(original.Device.CaptureState(), twin.Device.CaptureState());
    }

    /// <summary>Drives a power-on device through <paramref name="steps"/> (reaching some state a guest can reach) and returns it.</summary>
    public static TDevice Drive<TDevice>(TDevice device, Action<DeviceRig<TDevice>, DeviceStep> apply, IEnumerable<DeviceStep> steps, Action<DeviceStep>? beforeStep = null)
        where TDevice : IDevice
    {
        var rig = new DeviceRig<TDevice>(device, new Transcript());
        foreach (var step in steps)
        {
            beforeStep?.Invoke(step);
            apply(rig, step);
        }

        return device;
    }
}

/// <summary>Bit picking for corruption properties.</summary>
internal static class Bits
{
    private const int BitsPerByte = 8;

    /// <summary>One of the set bits of <paramref name="mask"/>, chosen by <paramref name="n"/>.</summary>
    public static byte OneOf(byte mask, int n)
    {
        var bits = Enumerable.Range(0, BitsPerByte).Where(bit => (mask & (1 << bit)) != 0).ToArray();
        return (byte)(1 << bits[n % bits.Length]);
    }
}
