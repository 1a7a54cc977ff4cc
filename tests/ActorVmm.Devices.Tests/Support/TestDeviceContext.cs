namespace ActorVmm.Devices.Tests.Support;

/// <summary>A device context as the supervisor builds one, with recording fakes for the VM's services.</summary>
internal static class TestDeviceContext
{
    public static DeviceContext Create(string deviceName, TimeProvider time, DeviceState? restoredState = null) =>
        new(
            deviceName,
            new DeviceEnvironment("test-vm", irq => new RecordingInterruptLine(irq), time, NullGuestOutput.Instance, new RecordingPowerRequests()),
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
