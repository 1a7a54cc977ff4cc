using ActorVmm.Devices.ExitPort;
using ActorVmm.Devices.Platforms;
using ActorVmm.Devices.Tests.Support;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using ActorVmm.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace ActorVmm.Devices.Tests.Platforms;

/// <summary>The supervisor rebuilds a device through its definition: every definition must hand the restored state to the device.</summary>
public sealed class DefinitionRestoreTests : IDisposable
{
    // A byte every register it reaches changes state with (an ICW1, a control word, an index, a POST code, a CTR bit).
    private const byte StateChangingByte = 0x11;
    private const ulong RamSize = 1 << 20;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
    private readonly BareVm _vm = new(RamSize);

    public static TheoryData<string> X86Devices => [X86Platform.RtcName, X86Platform.I8042Name, X86Platform.LegacyName, X86Platform.PicName, X86Platform.PitName];

    public void Dispose() => _vm.Dispose();

    [Theory]
    [MemberData(nameof(X86Devices))]
    public void An_x86_platform_device_is_rebuilt_from_a_restored_state(string name) =>
        AssertRebuildsFromRestoredState(X86Definition(name));

    [Fact]
    public void The_arm64_clock_is_rebuilt_from_a_restored_state() =>
        AssertRebuildsFromRestoredState(Arm64Platform.Default.CreateDevices(PlatformContext()).Single(d => d.Name == Arm64Platform.RtcName));

    [Theory]
    [MemberData(nameof(X86Devices))]
    public void An_x86_platform_device_refuses_another_device_state(string name)
    {
        var definition = X86Definition(name);

        Assert.Throws<DeviceStateException>(() => definition.Factory(Context(definition, new ExitPortState())));
    }

    private DeviceDefinition X86Definition(string name) =>
        X86Platform.Default.CreateDevices(PlatformContext()).Single(d => d.Name == name);

    private PlatformContext PlatformContext() => new(_vm, _time, NullLoggerFactory.Instance);

    private DeviceContext Context(DeviceDefinition definition, DeviceState? state) =>
        TestDeviceContext.Create(definition.Name, _time, state);

    private void AssertRebuildsFromRestoredState(DeviceDefinition definition)
    {
        var first = definition.Factory(Context(definition, null));
        var powerOn = first.CaptureState();
        var bus = new DeviceBus(first);
        foreach (var region in first.Regions)
        {
            bus.Write(region.Bus, region.Base, sizeof(byte), StateChangingByte);
        }

        var state = first.CaptureState();
        var rebuilt = definition.Factory(Context(definition, state));

        Assert.NotEqual(powerOn, state);
        Assert.Equal(state, rebuilt.CaptureState());
    }

    /// <summary>A VM with RAM and a trap table, no vCPUs and no in-kernel irqchip (so the platform adds the PIC and PIT).</summary>
    private sealed class BareVm(ulong ramSize) : IVirtualMachine
    {
        public string Name => "bare";

        public string Backend => "test";

        public MemoryLayout Layout { get; } = MemoryMap.X86.Layout(ramSize);

        public GuestMemory Memory => _memory ??= GuestMemory.Create(Layout);

        private GuestMemory? _memory;

        public TrapTable Traps { get; } = new();

        public TrapDispatcher Dispatcher => new(Traps);

        public IReadOnlyList<IVcpu> Vcpus => [];

        public bool HasInKernelIrqchip => false;

        // Building definitions touches neither: the devices' lines come from their test contexts.
        public IInterruptRouter Interrupts => throw new NotSupportedException("BareVm routes no interrupts");

        public IDoorbells Doorbells => throw new NotSupportedException("BareVm has no doorbells");

        public IInterruptLine GetInterruptLine(int irq) => new RecordingInterruptLine(irq);

        public void AttachInterruptController(IInterruptController controller)
        {
        }

        public void Dispose() => _memory?.Dispose();
    }
}
