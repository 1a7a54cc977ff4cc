using ActorVmm.Machine.Memory;

namespace ActorVmm.Devices.Tests.Support;

/// <summary>A device context as the supervisor builds one, with recording fakes for the VM's services.</summary>
internal static class TestDeviceContext
{
    /// <summary>One page of guest RAM for every test context: these devices do no DMA, the environment only needs an accessor.</summary>
    public static readonly GuestDma NoDma = new(GuestMemory.Create(4096));

    public static DeviceContext Create(string deviceName, TimeProvider time, DeviceState? restoredState = null) =>
        new(
            deviceName,
            new DeviceEnvironment("test-vm", (irq, _) => new RecordingInterruptLine(irq), time, NullGuestOutput.Instance, new RecordingPowerRequests(), NoDma),
            new DiscardingMailbox(),
            new GuestInputQueue(),
            restoredState);

    private sealed class DiscardingMailbox : IDeviceMailbox
    {
        public void Post(object message)
        {
        }
    }
}
