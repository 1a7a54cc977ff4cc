using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Pci.Msix;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Devices.Tests.Pci;

public sealed class MsixTests
{
    private const ulong MessageAddress = 0xFEE0_1000;
    private const uint MessageData = 0x4041;
    private const int Vector = 2;

    private readonly PciTestRig _rig = new();

    private PciFunction Function => _rig.Function;

    private RecordingMsiVector Sink => _rig.Vectors[Vector];

    /// <summary>Walks the capabilities list to the MSI-X capability; returns its offset.</summary>
    public static int CapabilityOffset(PciFunction function)
    {
        int offset = (int)function.ReadConfig(PciHeader.CapabilitiesPointer, 1);
        while (offset != 0 && function.ReadConfig(offset, 1) != PciCapabilityId.MsiX)
        {
            offset = (int)function.ReadConfig(offset + PciCapability.NextPointer, 1);
        }

        Assert.NotEqual(0, offset);
        return offset;
    }

    public static int ControlRegister(PciFunction function) => CapabilityOffset(function) + MsixRegisters.MessageControl;

    public static ulong EntryOffset(int vector, int field) => TestPciDevice.MsixTableOffset + (ulong)(vector * MsixRegisters.EntrySize) + (ulong)field;

    [Fact]
    public void Capability_reports_table_size_and_locations()
    {
        int cap = CapabilityOffset(Function);
        Assert.Equal((uint)(TestPciDevice.MsixVectors - 1), Function.ReadConfig(cap + MsixRegisters.MessageControl, 2) & MsixRegisters.TableSizeMask);
        Assert.Equal(TestPciDevice.MsixTableOffset | TestPciDevice.Memory32Bar, Function.ReadConfig(cap + MsixRegisters.TableOffsetBir, 4));
        uint pba = Function.ReadConfig(cap + MsixRegisters.PbaOffsetBir, 4);
        Assert.Equal((uint)TestPciDevice.Memory32Bar, pba & MsixRegisters.BirMask);
        Assert.Equal(TestPciDevice.MsixTableOffset + (TestPciDevice.MsixVectors * MsixRegisters.EntrySize), pba & MsixRegisters.OffsetMask);
    }

    [Fact]
    public void Only_enable_and_function_mask_are_writable_in_message_control()
    {
        int control = ControlRegister(Function);
        uint before = Function.ReadConfig(control, 2);
        Function.WriteConfig(control, 2, ushort.MaxValue);
        Assert.Equal(before | MsixRegisters.Enable | MsixRegisters.FunctionMask, Function.ReadConfig(control, 2));
        Assert.True(Function.MsixEnabled);
    }

    [Fact]
    public void Table_starts_with_every_vector_masked()
    {
        for (int v = 0; v < TestPciDevice.MsixVectors; v++)
        {
            Assert.Equal(MsixRegisters.VectorMasked, Read(EntryOffset(v, MsixRegisters.EntryVectorControl), 4));
        }
    }

    [Fact]
    public void Table_dword_writes_read_back_and_update_the_route()
    {
        Write(EntryOffset(Vector, MsixRegisters.EntryAddressLow), 4, (uint)MessageAddress);
        Write(EntryOffset(Vector, MsixRegisters.EntryAddressHigh), 4, 0);
        Write(EntryOffset(Vector, MsixRegisters.EntryData), 4, MessageData);
        Assert.Equal((uint)MessageAddress, Read(EntryOffset(Vector, MsixRegisters.EntryAddressLow), 4));
        Assert.Equal(MessageData, Read(EntryOffset(Vector, MsixRegisters.EntryData), 4));
        Assert.Equal((MessageAddress, MessageData), (Sink.Address, Sink.Data));
        Assert.Equal(2, Sink.Updates);
    }

    [Fact]
    public void Table_qword_writes_update_the_route_once_with_the_whole_message()
    {
        const ulong highAddress = 0x1_FEE0_0000;
        Write(EntryOffset(Vector, MsixRegisters.EntryAddressLow), 8, highAddress);
        Assert.Equal(highAddress, Read(EntryOffset(Vector, MsixRegisters.EntryAddressLow), 8));
        Assert.Equal(1, Sink.Updates);
        Assert.Equal(highAddress, Sink.Address);

        Write(EntryOffset(Vector, MsixRegisters.EntryData), 8, MessageData);
        Assert.Equal((ulong)MessageData, Read(EntryOffset(Vector, MsixRegisters.EntryData), 8));
        Assert.Equal(2, Sink.Updates);
    }

    [Fact]
    public void Vector_control_keeps_only_the_mask_bit()
    {
        Write(EntryOffset(Vector, MsixRegisters.EntryVectorControl), 4, uint.MaxValue);
        Assert.Equal(MsixRegisters.VectorMasked, Read(EntryOffset(Vector, MsixRegisters.EntryVectorControl), 4));
    }

    [Fact]
    public void Unmasked_vector_delivers_its_message()
    {
        Program(Vector);
        Enable();
        Assert.True(Function.TriggerMsix(Vector));
        Assert.Equal([(MessageAddress, MessageData)], Sink.Delivered);
        Assert.False(Function.IsMsixPending(Vector));
    }

    [Fact]
    public void Masked_vector_sets_its_pending_bit_and_delivers_on_unmask()
    {
        Program(Vector, unmask: false);
        Enable();
        Assert.True(Function.TriggerMsix(Vector));
        Assert.Empty(Sink.Delivered);
        Assert.True(Function.IsMsixPending(Vector));
        Assert.Equal(1UL << Vector, Read(PbaOffset, 8));

        Write(EntryOffset(Vector, MsixRegisters.EntryVectorControl), 4, 0);
        Assert.Equal([(MessageAddress, MessageData)], Sink.Delivered);
        Assert.False(Function.IsMsixPending(Vector));
        Assert.Equal(0UL, Read(PbaOffset, 8));
    }

    [Fact]
    public void Function_mask_holds_every_vector_pending_until_cleared()
    {
        Program(Vector);
        Program(Vector + 1);
        Enable(functionMask: true);
        Function.TriggerMsix(Vector);
        Function.TriggerMsix(Vector + 1);
        Assert.Empty(Sink.Delivered);
        Assert.Equal((1UL << Vector) | (1UL << (Vector + 1)), Read(PbaOffset, 8));

        Enable(functionMask: false);
        Assert.Single(Sink.Delivered);
        Assert.Single(_rig.Vectors[Vector + 1].Delivered);
        Assert.Equal(0UL, Read(PbaOffset, 8));
    }

    [Fact]
    public void Pending_vector_still_masked_by_itself_stays_pending_when_the_function_is_unmasked()
    {
        Program(Vector, unmask: false);
        Enable(functionMask: true);
        Function.TriggerMsix(Vector);
        Enable(functionMask: false);
        Assert.Empty(Sink.Delivered);
        Assert.True(Function.IsMsixPending(Vector));
    }

    [Fact]
    public void Trigger_while_msix_is_disabled_does_nothing_and_says_so()
    {
        Program(Vector);
        Assert.False(Function.TriggerMsix(Vector));
        Assert.Empty(Sink.Delivered);
        Assert.False(Function.IsMsixPending(Vector));
        Enable();
        Assert.False(Function.TriggerMsix(TestPciDevice.MsixVectors));
    }

    [Fact]
    public void Pba_is_read_only()
    {
        Program(Vector, unmask: false);
        Enable();
        Function.TriggerMsix(Vector);
        Write(PbaOffset, 8, 0);
        Assert.Equal(1UL << Vector, Read(PbaOffset, 8));
    }

    [Fact]
    public void Accesses_outside_the_table_and_pba_are_left_to_the_device()
    {
        Span<byte> data = stackalloc byte[4];
        Assert.False(Function.TryHandleMsixAccess(TestPciDevice.Memory32Bar, PbaOffset + 8, data, isWrite: false));
        Assert.False(Function.TryHandleMsixAccess(TestPciDevice.Memory64Bar, 0, data, isWrite: false));
    }

    [Fact]
    public void Bar_trap_reaches_the_table()
    {
        Span<byte> data = stackalloc byte[4];
        var access = new TrapAccess(0, TrapBus.Mmio, 0, EntryOffset(Vector, MsixRegisters.EntryVectorControl), TrapDirection.Read, data);
        Assert.True(Function.TryHandleMsixAccess(TestPciDevice.Memory32Bar, access));
        Assert.Equal(MsixRegisters.VectorMasked, (uint)access.Value);
    }

    [Fact]
    public void Each_vector_is_told_its_mask_state_at_start_and_whenever_msix_enable_the_function_mask_or_its_own_mask_changes_it()
    {
        Assert.Equal([true], Sink.MaskChanges);
        Program(Vector, unmask: false);
        Enable();
        Assert.Equal([true], Sink.MaskChanges); // still masked by its own bit

        Write(EntryOffset(Vector, MsixRegisters.EntryVectorControl), 4, 0);
        Function.WriteConfig(ControlRegister(Function), 2, MsixRegisters.Enable | MsixRegisters.FunctionMask);
        Function.WriteConfig(ControlRegister(Function), 2, MsixRegisters.Enable);
        Function.WriteConfig(ControlRegister(Function), 2, 0);
        Function.WriteConfig(ControlRegister(Function), 2, MsixRegisters.Enable);
        Function.Reset();

        Assert.Equal([true, false, true, false, true, false, true], Sink.MaskChanges);
        Assert.All(_rig.Vectors.Where((_, v) => v != Vector), v => Assert.Equal([true], v.MaskChanges));
    }

    [Fact]
    public void Reset_masks_every_vector_and_clears_pending()
    {
        Program(Vector, unmask: false);
        Enable();
        Function.TriggerMsix(Vector);
        Function.Reset();
        Assert.False(Function.IsMsixPending(Vector));
        Assert.Equal(MsixRegisters.VectorMasked, Read(EntryOffset(Vector, MsixRegisters.EntryVectorControl), 4));
        Assert.Equal(0u, Read(EntryOffset(Vector, MsixRegisters.EntryData), 4));
    }

    [Fact]
    public void Function_with_msix_needs_msi_vectors()
    {
        var slot = _rig.Bus.AddSlot("no-msi");
        var wiring = slot.Wiring(0, TestPciDevice.Definition, _ => new RecordingBarPlacement());
        Assert.Throws<ArgumentException>(() => new PciFunction(TestPciDevice.Definition, wiring));
    }

    private static ulong PbaOffset => TestPciDevice.MsixTableOffset + (TestPciDevice.MsixVectors * MsixRegisters.EntrySize);

    private ulong Read(ulong offset, int size)
    {
        Span<byte> data = stackalloc byte[size];
        Assert.True(Function.TryHandleMsixAccess(TestPciDevice.Memory32Bar, offset, data, isWrite: false));
        return TrapAccess.ReadLittleEndian(data);
    }

    private void Write(ulong offset, int size, ulong value)
    {
        Span<byte> data = stackalloc byte[size];
        TrapAccess.WriteLittleEndian(data, value);
        Assert.True(Function.TryHandleMsixAccess(TestPciDevice.Memory32Bar, offset, data, isWrite: true));
    }

    private void Program(int vector, bool unmask = true)
    {
        Write(EntryOffset(vector, MsixRegisters.EntryAddressLow), 8, MessageAddress);
        Write(EntryOffset(vector, MsixRegisters.EntryData), 4, MessageData);
        Write(EntryOffset(vector, MsixRegisters.EntryVectorControl), 4, unmask ? 0 : MsixRegisters.VectorMasked);
    }

    private void Enable(bool functionMask = false) =>
        Function.WriteConfig(ControlRegister(Function), 2, MsixRegisters.Enable | (functionMask ? MsixRegisters.FunctionMask : 0u));
}

public sealed class MsiMessageVectorTests
{
    [Fact]
    public void Trigger_sends_the_latest_message()
    {
        var sent = new List<(ulong, uint)>();
        var vector = new MsiMessageVector((address, data) => sent.Add((address, data)));
        vector.Update(0xFEE0_0000, 0x30);
        vector.Update(0xFEE0_1000, 0x31);
        vector.Trigger();
        vector.Trigger();
        Assert.Equal([(0xFEE0_1000UL, 0x31u), (0xFEE0_1000UL, 0x31u)], sent);
    }
}
