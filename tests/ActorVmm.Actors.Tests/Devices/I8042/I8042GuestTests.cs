using ActorVmm.Devices;
using ActorVmm.Devices.I8042;
using ActorVmm.TestGuests;

namespace ActorVmm.Actors.Tests.Devices.I8042;

/// <summary>The i8042 guest on the emulator, through the VM's trap table.</summary>
public sealed class I8042GuestTests
{
    private const int NotWritten = -1;

    [Fact]
    public void Guest_passes_self_test_and_keyboard_reset_then_its_reset_pulse_requests_a_VM_reset()
    {
        using var vm = new EmulatedDevicesVm(DeviceGuests.I8042SelfTestAndReset());
        vm.Register(new I8042Device(vm.Vm.GetInterruptLine(I8042Registers.KeyboardIrq), vm.Vm.GetInterruptLine(I8042Registers.AuxIrq), vm));

        vm.RunToCompletion();

        Assert.Equal([PowerRequestSource.KeyboardControllerReset], vm.Resets);
        Assert.Equal(NotWritten, vm.ExitStatus);
    }
}
