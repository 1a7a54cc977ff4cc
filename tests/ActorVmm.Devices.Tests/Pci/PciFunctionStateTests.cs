using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Pci.Msix;

namespace ActorVmm.Devices.Tests.Pci;

public sealed class PciFunctionStateTests
{
    private const uint Memory32Address = 0xD200_0000;
    private const ulong MessageAddress = 0xFEE0_0000;
    private const uint MessageData = 0x31;
    private const int PendingVector = 1;
    private const int ProgrammedVector = 3;

    private readonly PciTestRig _rig = new();

    [Fact]
    public void Rebuilt_function_has_the_captured_registers_and_puts_its_bars_back()
    {
        var before = Program();
        var state = _rig.Function.CaptureState();
        state.Validate();

        var rebuilt = _rig.Build(state);
        Assert.Equal(before, Dump(rebuilt));
        Assert.Equal(new PciBarPlacement(Memory32Address, true), Assert.Single(_rig.Placements[TestPciDevice.Memory32Bar].Calls));
        Assert.Equal(PciBarPlacement.Unplaced, Assert.Single(_rig.Placements[TestPciDevice.IoBar].Calls));
    }

    [Fact]
    public void Rebuilt_function_keeps_msix_messages_and_pending_bits_and_republishes_routes()
    {
        Program();
        var vector = _rig.Vectors[ProgrammedVector];
        int updates = vector.Updates;
        var rebuilt = _rig.Build(_rig.Function.CaptureState());

        Assert.Equal(updates + 1, vector.Updates);
        Assert.Equal((MessageAddress, MessageData), (vector.Address, vector.Data));
        Assert.True(rebuilt.MsixEnabled);
        Assert.True(rebuilt.IsMsixPending(PendingVector));
        Assert.True(rebuilt.TriggerMsix(ProgrammedVector));
        Assert.Equal([(MessageAddress, MessageData)], vector.Delivered);
    }

    [Fact]
    public void Rebuilt_function_drives_its_captured_intx_level()
    {
        _rig.Function.SetIntxLevel(true);
        var state = _rig.Function.CaptureState();
        _rig.Function.SetIntxLevel(false);

        var rebuilt = _rig.Build(state);
        Assert.True(_rig.Intx.Level);
        Assert.True(rebuilt.IntxAsserted);
    }

    [Fact]
    public void State_of_another_function_is_refused()
    {
        var other = new PciBus().HostBridge.CaptureState();
        Assert.Throws<DeviceStateException>(() => _rig.Build(other with { MsixTable = _rig.Function.CaptureState().MsixTable, MsixPending = _rig.Function.CaptureState().MsixPending }));
        Assert.Throws<DeviceStateException>(() => new PciFunction(PciHostBridge.Definition, PciFunctionWiring.None, _rig.Function.CaptureState()));
    }

    [Fact]
    public void State_with_a_changed_read_only_bit_is_refused()
    {
        var state = _rig.Function.CaptureState();
        var config = state.Config.SetItem(PciHeader.InterruptPin, (byte)PciInterruptPin.IntB);
        Assert.Throws<DeviceStateException>(() => _rig.Build(state with { Config = config }));
    }

    [Fact]
    public void Validate_rejects_inconsistent_states()
    {
        var good = _rig.Function.CaptureState();
        good.Validate();
        int control = (ProgrammedVector * MsixRegisters.EntrySize) + MsixRegisters.EntryVectorControl;
        PciFunctionState[] bad =
        [
            good with { Config = [.. good.Config.Take(PciHeader.StandardHeaderSize)] },
            good with { MsixTable = good.MsixTable.RemoveAt(0) },
            good with { MsixPending = [] },
            good with { MsixPending = [1UL << TestPciDevice.MsixVectors] },
            good with { MsixTable = good.MsixTable.SetItem(control, (byte)(MsixRegisters.VectorMasked << 1)) },
            good with { IntxPending = true },
            good with { Config = default },
        ];
        Assert.All(bad, state => Assert.Throws<DeviceStateException>(state.Validate));
    }

    [Fact]
    public void Msix_state_for_a_function_without_msix_is_refused()
    {
        var withMsix = _rig.Function.CaptureState();
        var bridge = new PciBus().HostBridge.CaptureState();
        Assert.Throws<DeviceStateException>(() => new PciFunction(PciHostBridge.Definition, PciFunctionWiring.None, bridge with { MsixTable = withMsix.MsixTable, MsixPending = withMsix.MsixPending }));
    }

    private static uint[] Dump(PciFunction function) =>
        [.. Enumerable.Range(0, PciHeader.ConfigSpaceSize / 4).Select(i => function.ReadConfig(i * 4, 4))];

    private uint[] Program()
    {
        var f = _rig.Function;
        f.WriteConfig(PciHeader.Bar(TestPciDevice.Memory32Bar), 4, Memory32Address);
        f.WriteConfig(PciHeader.Command, 2, (uint)(PciCommand.MemorySpace | PciCommand.BusMaster));
        f.WriteConfig(PciHeader.InterruptLine, 1, 0x0A);
        Span<byte> message = stackalloc byte[MsixRegisters.EntrySize];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(message, MessageAddress);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(message[MsixRegisters.EntryData..], MessageData);
        f.TryHandleMsixAccess(TestPciDevice.Memory32Bar, MsixTests.EntryOffset(ProgrammedVector, 0), message, isWrite: true);
        f.WriteConfig(MsixTests.ControlRegister(f), 2, MsixRegisters.Enable);
        f.TriggerMsix(PendingVector);
        return Dump(f);
    }
}
