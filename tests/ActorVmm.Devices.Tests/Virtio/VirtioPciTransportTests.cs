using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Virtio;
using ActorVmm.Devices.Virtio.Pci;
using ActorVmm.Devices.Virtio.Rng;
using ActorVmm.Machine.Traps;
using ActorVmm.TestSupport.Virtio;
using static ActorVmm.Devices.Tests.Virtio.VirtioRigs;

namespace ActorVmm.Devices.Tests.Virtio;

/// <summary>
/// The modern virtio-pci transport as a driver sees it: the function's identity, the capability chain, common
/// configuration semantics and their bounds checks, notifications as doorbells that follow the BAR, the ISR with INTx,
/// MSI-X vectors, the PCI configuration access capability, reset, and guest input that must be refused.
/// </summary>
public sealed class VirtioPciTransportTests : IDisposable
{
    private const uint MsiData = 0x41;
    private const int QueueVector = 1;
    private const int ConfigVector = 0;
    private readonly VirtioPciRig _rig = new(VirtioDeviceType.Entropy, _ => new VirtioRng(span => span.Fill(0xA5)));

    public void Dispose() => _rig.Dispose();

    [Fact]
    public void The_function_is_a_modern_virtio_device_of_its_type_with_one_64_bit_memory_BAR_and_INTA()
    {
        Assert.Equal(VirtioPciRegisters.VendorId, _rig.ConfigRead(PciHeader.VendorId, sizeof(ushort)));
        Assert.Equal((uint)(VirtioPciRegisters.ModernDeviceIdBase + (int)VirtioDeviceType.Entropy), _rig.ConfigRead(PciHeader.DeviceId, sizeof(ushort)));
        Assert.Equal(VirtioPciRegisters.ModernRevision, _rig.ConfigRead(PciHeader.RevisionId, sizeof(byte)));
        Assert.Equal(VirtioPciRegisters.VendorId, _rig.ConfigRead(PciHeader.SubsystemVendorId, sizeof(ushort)));
        Assert.True(_rig.ConfigRead(PciHeader.SubsystemId, sizeof(ushort)) >= VirtioPciRegisters.SubsystemIdBase);
        Assert.Equal((uint)PciInterruptPin.IntA, _rig.ConfigRead(PciHeader.InterruptPin, sizeof(byte)));
        Assert.Equal(PciBarBits.MemoryType64, _rig.ConfigRead(VirtioPciRig.Bar(VirtioPciLayout.Bar), sizeof(uint)) & ~PciBarBits.MemoryAddressMask);

        // Sizing the BAR as firmware does reads back its size mask.
        _rig.ConfigWrite(VirtioPciRig.Bar(VirtioPciLayout.Bar), sizeof(uint), uint.MaxValue);
        uint mask = _rig.ConfigRead(VirtioPciRig.Bar(VirtioPciLayout.Bar), sizeof(uint)) & PciBarBits.MemoryAddressMask;
        Assert.Equal(VirtioPciLayout.BarSize, (ulong)(~mask + 1));
    }

    [Fact]
    public void A_driver_walking_the_capability_chain_finds_every_structure_inside_the_virtio_BAR()
    {
        var capabilities = _rig.Capabilities();

        foreach (byte type in new[] { VirtioPciRegisters.CapCommonCfg, VirtioPciRegisters.CapNotifyCfg, VirtioPciRegisters.CapIsrCfg, VirtioPciRegisters.CapDeviceCfg })
        {
            int at = capabilities[type];
            uint bar = _rig.ConfigRead(at + VirtioPciRegisters.CapBar, sizeof(byte));
            uint offset = _rig.ConfigRead(at + VirtioPciRegisters.CapOffset, sizeof(uint));
            uint length = _rig.ConfigRead(at + VirtioPciRegisters.CapStructureLength, sizeof(uint));
            Assert.Equal((uint)VirtioPciLayout.Bar, bar);
            Assert.True(length > 0 && offset + (ulong)length <= VirtioPciLayout.BarSize, $"cfg_type {type}: 0x{offset:X}+0x{length:X}");
            Assert.True(_rig.ConfigRead(at + VirtioPciRegisters.CapLength, sizeof(byte)) >= VirtioPciRegisters.CapSize);
        }

        int common = capabilities[VirtioPciRegisters.CapCommonCfg];
        Assert.True(_rig.ConfigRead(common + VirtioPciRegisters.CapStructureLength, sizeof(uint)) >= VirtioPciRegisters.CommonCfgSize);
        int notify = capabilities[VirtioPciRegisters.CapNotifyCfg];
        Assert.Equal(VirtioPciRegisters.NotifyCapSize, (int)_rig.ConfigRead(notify + VirtioPciRegisters.CapLength, sizeof(byte)));
        Assert.Equal(VirtioPciLayout.NotifyOffMultiplier, _rig.ConfigRead(notify + VirtioPciRegisters.NotifyOffMultiplierOffset, sizeof(uint)));
        Assert.Equal(VirtioPciRegisters.PciCfgCapSize, (int)_rig.ConfigRead(capabilities[VirtioPciRegisters.CapPciCfg] + VirtioPciRegisters.CapLength, sizeof(byte)));
        Assert.Contains(PciCapabilityId.MsiX, capabilities.Keys);
    }

    [Fact]
    public void Common_configuration_reports_features_queues_and_their_maximum_and_negotiation_sets_FEATURES_OK()
    {
        _rig.Common(VirtioPciRegisters.DeviceFeatureSelect, sizeof(uint), 1);
        Assert.Equal((ulong)(VirtioFeatures.Version1 >> 32), _rig.Common(VirtioPciRegisters.DeviceFeature, sizeof(uint)) & (VirtioFeatures.Version1 >> 32));
        Assert.Equal(1ul, _rig.Common(VirtioPciRegisters.DeviceFeatureSelect, sizeof(uint)));
        Assert.Equal((ulong)_rig.Device.Core.QueueCount, _rig.Common(VirtioPciRegisters.NumQueues, sizeof(ushort)));
        Assert.Equal((ulong)_rig.Device.Core.QueueMaxSize(0), _rig.Common(VirtioPciRegisters.QueueSize, sizeof(ushort)));
        Assert.Equal(0ul, _rig.Common(VirtioPciRegisters.QueueNotifyOff, sizeof(ushort)));
        Assert.Equal(VirtioPciRegisters.NoVector, (ushort)_rig.Common(VirtioPciRegisters.ConfigMsixVector, sizeof(ushort)));

        _rig.Start();

        Assert.Equal(VirtioStatus.Acknowledge | VirtioStatus.Driver | VirtioStatus.FeaturesOk | VirtioStatus.DriverOk, (int)_rig.Common(VirtioPciRegisters.DeviceStatus, sizeof(byte)));
        Assert.Equal(RingFeatures, _rig.Device.Core.DriverFeatures);
        Assert.Equal(1ul, _rig.Common(VirtioPciRegisters.QueueEnable, sizeof(ushort)));
        Assert.Equal((ulong)QueueSize, _rig.Common(VirtioPciRegisters.QueueSize, sizeof(ushort)));
    }

    [Fact]
    public void Queue_addresses_take_a_64_bit_write_or_two_32_bit_halves_and_read_back_either_way()
    {
        const ulong Descriptors = 0x1_2345_6000;
        const ulong Used = 0x2_0000_1000;
        _rig.Common(VirtioPciRegisters.QueueDesc, sizeof(ulong), Descriptors);
        _rig.Common(VirtioPciRegisters.QueueDevice, sizeof(uint), Used & uint.MaxValue);
        _rig.Common(VirtioPciRegisters.QueueDevice + sizeof(uint), sizeof(uint), Used >> 32);

        Assert.Equal(Descriptors, _rig.Device.Core.QueueAddress(0, VirtqueueArea.Descriptor));
        Assert.Equal(Used, _rig.Common(VirtioPciRegisters.QueueDevice, sizeof(ulong)));
        Assert.Equal(Descriptors & uint.MaxValue, _rig.Common(VirtioPciRegisters.QueueDesc, sizeof(uint)));
        Assert.Equal(Descriptors >> 32, _rig.Common(VirtioPciRegisters.QueueDesc + sizeof(uint), sizeof(uint)));
    }

    [Theory]
    [InlineData(QueueSize - 1)]
    [InlineData(0)]
    [InlineData(-1)]
    public void A_queue_size_that_is_not_a_power_of_two_up_to_the_maximum_is_refused_and_counted(int size)
    {
        long before = _rig.Device.Counters.IgnoredRegisterAccesses;
        ulong maximum = _rig.Common(VirtioPciRegisters.QueueSize, sizeof(ushort));

        // -1 stands for twice the maximum: a power of two, but too large.
        _rig.Common(VirtioPciRegisters.QueueSize, sizeof(ushort), size < 0 ? maximum * 2 : (ulong)size);

        Assert.Equal(maximum, _rig.Common(VirtioPciRegisters.QueueSize, sizeof(ushort)));
        Assert.Equal(before + 1, _rig.Device.Counters.IgnoredRegisterAccesses);
    }

    [Fact]
    public void A_queue_select_naming_no_queue_reads_size_0_and_its_writes_are_ignored()
    {
        ushort missing = (ushort)_rig.Device.Core.QueueCount;
        _rig.Common(VirtioPciRegisters.QueueSelect, sizeof(ushort), missing);
        long before = _rig.Device.Counters.IgnoredRegisterAccesses;

        _rig.Common(VirtioPciRegisters.QueueSize, sizeof(ushort), QueueSize);
        _rig.Common(VirtioPciRegisters.QueueEnable, sizeof(ushort), 1);
        _rig.Common(VirtioPciRegisters.QueueMsixVector, sizeof(ushort), QueueVector);

        Assert.Equal(0ul, _rig.Common(VirtioPciRegisters.QueueSize, sizeof(ushort)));
        Assert.Equal(0ul, _rig.Common(VirtioPciRegisters.QueueEnable, sizeof(ushort)));
        Assert.Equal(VirtioPciRegisters.NoVector, (ushort)_rig.Common(VirtioPciRegisters.QueueMsixVector, sizeof(ushort)));
        Assert.True(_rig.Device.Counters.IgnoredRegisterAccesses >= before + 3);
    }

    [Theory]
    [InlineData(VirtioPciRegisters.DeviceFeature, sizeof(ushort))]
    [InlineData(VirtioPciRegisters.NumQueues, sizeof(uint))]
    [InlineData(VirtioPciRegisters.DeviceStatus, sizeof(ushort))]
    [InlineData(VirtioPciRegisters.QueueSelect + 1, sizeof(byte))]
    [InlineData(VirtioPciRegisters.QueueDesc + 2, sizeof(uint))]
    [InlineData(VirtioPciRegisters.CommonCfgSize, sizeof(uint))]
    public void A_common_configuration_access_of_the_wrong_width_or_offset_reads_0_and_is_counted(int offset, int size)
    {
        long before = _rig.Device.Counters.IgnoredRegisterAccesses;

        Assert.Equal(0ul, _rig.Common(offset, size));
        _rig.Common(offset, size, ulong.MaxValue >> (64 - (8 * size)));

        Assert.Equal(before + 2, _rig.Device.Counters.IgnoredRegisterAccesses);
        Assert.Equal(0, (int)_rig.Common(VirtioPciRegisters.DeviceStatus, sizeof(byte)));
    }

    [Fact]
    public void Writes_to_read_only_fields_and_a_queue_enable_of_0_change_nothing()
    {
        _rig.Start();
        long before = _rig.Device.Counters.IgnoredRegisterAccesses;

        _rig.Common(VirtioPciRegisters.NumQueues, sizeof(ushort), 7);
        _rig.Common(VirtioPciRegisters.QueueNotifyOff, sizeof(ushort), 3);
        _rig.Common(VirtioPciRegisters.QueueEnable, sizeof(ushort), 0);

        Assert.Equal((ulong)_rig.Device.Core.QueueCount, _rig.Common(VirtioPciRegisters.NumQueues, sizeof(ushort)));
        Assert.Equal(0ul, _rig.Common(VirtioPciRegisters.QueueNotifyOff, sizeof(ushort)));
        Assert.Equal(1ul, _rig.Common(VirtioPciRegisters.QueueEnable, sizeof(ushort)));
        Assert.Equal(before + 3, _rig.Device.Counters.IgnoredRegisterAccesses);
    }

    [Fact]
    public void Each_queue_has_a_doorbell_at_its_notify_address_that_posts_its_notification()
    {
        ulong notify = _rig.BarBase + VirtioPciLayout.NotifyOffset;

        Assert.Equal(_rig.Device.Core.QueueCount, _rig.DoorbellTable.Count);
        Assert.True(_rig.DoorbellTable.TryRing(TrapBus.Mmio, notify, VirtioPciRegisters.NotifyWidth, 0));

        Assert.Equal([new VirtioSignals.QueueNotified(0)], _rig.Mailbox.History);
    }

    [Fact]
    public void A_notify_write_the_doorbell_does_not_take_reaches_the_device_through_the_trap_path()
    {
        _rig.Write(VirtioPciLayout.NotifyOffset, sizeof(uint), 0);

        Assert.Equal([new VirtioSignals.QueueNotified(0)], _rig.Mailbox.History);
    }

    [Fact]
    public void The_doorbells_follow_the_BAR_when_the_guest_moves_it_and_leave_while_memory_decoding_is_off()
    {
        ulong old = _rig.BarBase;
        ulong moved = old + (VirtioPciLayout.BarSize * 4);
        uint command = _rig.ConfigRead(PciHeader.Command, sizeof(ushort));

        _rig.ConfigWrite(PciHeader.Command, sizeof(ushort), command & ~(uint)PciCommand.MemorySpace);
        int whileOff = _rig.DoorbellTable.Count;
        _rig.ConfigWrite(VirtioPciRig.Bar(VirtioPciLayout.Bar), sizeof(uint), (uint)moved);
        _rig.ConfigWrite(VirtioPciRig.Bar(VirtioPciLayout.Bar + 1), sizeof(uint), (uint)(moved >> 32));
        _rig.ConfigWrite(PciHeader.Command, sizeof(ushort), command);

        Assert.Equal(0, whileOff);
        Assert.False(_rig.DoorbellTable.TryRing(TrapBus.Mmio, old + VirtioPciLayout.NotifyOffset, VirtioPciRegisters.NotifyWidth, 0));
        Assert.True(_rig.DoorbellTable.TryRing(TrapBus.Mmio, moved + VirtioPciLayout.NotifyOffset, VirtioPciRegisters.NotifyWidth, 0));
    }

    [Fact]
    public void Without_MSI_X_a_used_buffer_sets_the_ISR_and_INTx_and_reading_the_ISR_clears_both()
    {
        var queue = _rig.Start()[0];
        queue.MakeAvailable(queue.AddChain([DriverBuffer.Writable(Buffers, 16)]));

        _rig.Notify(0);
        _rig.RunSlowPath();

        Assert.True(queue.TryTakeUsed(out _));
        Assert.True(_rig.IntxLevel);
        Assert.NotEqual(0u, _rig.ConfigRead(PciHeader.Status, sizeof(ushort)) & (uint)PciStatus.InterruptStatus);
        Assert.Equal((ulong)VirtioPciRegisters.IsrQueue, _rig.Read(VirtioPciLayout.IsrOffset, sizeof(byte)));
        Assert.False(_rig.IntxLevel);
        Assert.Equal(0ul, _rig.Read(VirtioPciLayout.IsrOffset, sizeof(byte)));
    }

    [Fact]
    public void With_MSI_X_a_used_buffer_triggers_the_queue_vector_and_neither_ISR_nor_INTx()
    {
        _rig.EnableMsix(QueueVector, MsiData);
        var queue = _rig.Start()[0];
        _rig.Common(VirtioPciRegisters.QueueSelect, sizeof(ushort), 0);
        _rig.Common(VirtioPciRegisters.QueueMsixVector, sizeof(ushort), QueueVector);
        Assert.Equal((ulong)QueueVector, _rig.Common(VirtioPciRegisters.QueueMsixVector, sizeof(ushort)));
        queue.MakeAvailable(queue.AddChain([DriverBuffer.Writable(Buffers, 16)]));

        _rig.Notify(0);
        _rig.RunSlowPath();

        Assert.Equal([MsiData], _rig.Routes[QueueVector].Delivered.Select(m => m.Data));
        Assert.Empty(_rig.Routes[ConfigVector].Delivered);
        Assert.False(_rig.IntxLevel);
        Assert.Equal(0ul, _rig.Read(VirtioPciLayout.IsrOffset, sizeof(byte)));
    }

    [Fact]
    public void With_MSI_X_and_no_vector_for_the_queue_nothing_is_delivered()
    {
        _rig.EnableMsix(QueueVector, MsiData);
        var queue = _rig.Start()[0];
        queue.MakeAvailable(queue.AddChain([DriverBuffer.Writable(Buffers, 16)]));

        _rig.Notify(0);
        _rig.RunSlowPath();

        Assert.True(queue.TryTakeUsed(out _));
        Assert.All(_rig.Routes, route => Assert.Empty(route.Delivered));
        Assert.False(_rig.IntxLevel);
    }

    [Fact]
    public void A_vector_outside_the_MSI_X_table_is_refused_and_reads_back_NO_VECTOR()
    {
        _rig.Common(VirtioPciRegisters.ConfigMsixVector, sizeof(ushort), ConfigVector);
        Assert.Equal((ulong)ConfigVector, _rig.Common(VirtioPciRegisters.ConfigMsixVector, sizeof(ushort)));

        _rig.Common(VirtioPciRegisters.ConfigMsixVector, sizeof(ushort), VirtioPciLayout.MsixVectors);
        _rig.Common(VirtioPciRegisters.QueueMsixVector, sizeof(ushort), VirtioPciLayout.MsixVectors + 1);

        Assert.Equal(VirtioPciRegisters.NoVector, (ushort)_rig.Common(VirtioPciRegisters.ConfigMsixVector, sizeof(ushort)));
        Assert.Equal(VirtioPciRegisters.NoVector, (ushort)_rig.Common(VirtioPciRegisters.QueueMsixVector, sizeof(ushort)));
    }

    [Fact]
    public void A_configuration_change_with_MSI_X_triggers_the_configuration_vector_and_sets_the_ISR_configuration_bit()
    {
        _rig.EnableMsix(ConfigVector, MsiData);
        _rig.Start();
        _rig.Common(VirtioPciRegisters.ConfigMsixVector, sizeof(ushort), ConfigVector);

        _rig.Device.Core.ConfigChanged();

        Assert.Equal([MsiData], _rig.Routes[ConfigVector].Delivered.Select(m => m.Data));
        Assert.Equal((ulong)VirtioPciRegisters.IsrConfig, _rig.Read(VirtioPciLayout.IsrOffset, sizeof(byte)));
    }

    [Fact]
    public void The_PCI_configuration_access_capability_reads_and_writes_the_BAR_at_the_offset_and_length_the_driver_set()
    {
        int cap = _rig.Capabilities()[VirtioPciRegisters.CapPciCfg];
        int data = cap + VirtioPciRegisters.PciCfgData;
        _rig.ConfigWrite(cap + VirtioPciRegisters.CapBar, sizeof(byte), VirtioPciLayout.Bar);
        _rig.ConfigWrite(cap + VirtioPciRegisters.CapStructureLength, sizeof(uint), sizeof(uint));

        // device_feature_select = 1 through the window, then device_feature's high word back through it.
        _rig.ConfigWrite(cap + VirtioPciRegisters.CapOffset, sizeof(uint), VirtioPciLayout.CommonCfgOffset + VirtioPciRegisters.DeviceFeatureSelect);
        _rig.ConfigWrite(data, sizeof(uint), 1);
        _rig.ConfigWrite(cap + VirtioPciRegisters.CapOffset, sizeof(uint), VirtioPciLayout.CommonCfgOffset + VirtioPciRegisters.DeviceFeature);
        uint high = _rig.ConfigRead(data, sizeof(uint));

        // device_status (one byte) written and read back through the window.
        _rig.ConfigWrite(cap + VirtioPciRegisters.CapStructureLength, sizeof(uint), sizeof(byte));
        _rig.ConfigWrite(cap + VirtioPciRegisters.CapOffset, sizeof(uint), VirtioPciLayout.CommonCfgOffset + VirtioPciRegisters.DeviceStatus);
        _rig.ConfigWrite(data, sizeof(byte), VirtioStatus.Acknowledge);
        uint status = _rig.ConfigRead(data, sizeof(byte));

        Assert.Equal(1ul, _rig.Common(VirtioPciRegisters.DeviceFeatureSelect, sizeof(uint)));
        Assert.Equal((uint)(_rig.Device.Core.DeviceFeatures >> 32), high);
        Assert.Equal((uint)VirtioStatus.Acknowledge, status);
        Assert.Equal(VirtioStatus.Acknowledge, _rig.Device.Core.Status);
    }

    [Theory]
    [InlineData(VirtioPciLayout.Bar + 2, VirtioPciRegisters.DeviceStatus, sizeof(byte))]
    [InlineData(VirtioPciLayout.Bar, VirtioPciRegisters.DeviceStatus, 3)]
    [InlineData(VirtioPciLayout.Bar, VirtioPciRegisters.QueueSelect + 1, sizeof(ushort))]
    [InlineData(VirtioPciLayout.Bar, VirtioPciLayout.BarSize, sizeof(byte))]
    public void A_PCI_configuration_access_to_another_BAR_a_bad_length_a_misaligned_or_outside_offset_is_ignored(int bar, long offset, int length)
    {
        int cap = _rig.Capabilities()[VirtioPciRegisters.CapPciCfg];
        _rig.ConfigWrite(cap + VirtioPciRegisters.CapBar, sizeof(byte), (uint)bar);
        _rig.ConfigWrite(cap + VirtioPciRegisters.CapOffset, sizeof(uint), (uint)offset);
        _rig.ConfigWrite(cap + VirtioPciRegisters.CapStructureLength, sizeof(uint), (uint)length);
        long before = _rig.Device.Counters.IgnoredRegisterAccesses;

        _rig.ConfigWrite(cap + VirtioPciRegisters.PciCfgData, sizeof(byte), VirtioStatus.Acknowledge);
        uint read = _rig.ConfigRead(cap + VirtioPciRegisters.PciCfgData, sizeof(uint));

        Assert.Equal(0, _rig.Device.Core.Status);
        Assert.Equal(0u, read);
        Assert.Equal(before + 2, _rig.Device.Counters.IgnoredRegisterAccesses);
    }

    [Fact]
    public void Writing_0_to_device_status_resets_queues_features_vectors_and_the_ISR()
    {
        var queue = _rig.Start()[0];
        _rig.Common(VirtioPciRegisters.QueueMsixVector, sizeof(ushort), QueueVector);
        _rig.Common(VirtioPciRegisters.ConfigMsixVector, sizeof(ushort), ConfigVector);
        queue.MakeAvailable(queue.AddChain([DriverBuffer.Writable(Buffers, 16)]));
        _rig.Notify(0);
        _rig.RunSlowPath();

        _rig.Common(VirtioPciRegisters.DeviceStatus, sizeof(byte), 0);

        Assert.Equal(0ul, _rig.Common(VirtioPciRegisters.DeviceStatus, sizeof(byte)));
        Assert.Equal(0ul, _rig.Common(VirtioPciRegisters.QueueEnable, sizeof(ushort)));
        Assert.Equal((ulong)_rig.Device.Core.QueueMaxSize(0), _rig.Common(VirtioPciRegisters.QueueSize, sizeof(ushort)));
        Assert.Equal(VirtioPciRegisters.NoVector, (ushort)_rig.Common(VirtioPciRegisters.QueueMsixVector, sizeof(ushort)));
        Assert.Equal(VirtioPciRegisters.NoVector, (ushort)_rig.Common(VirtioPciRegisters.ConfigMsixVector, sizeof(ushort)));
        Assert.Equal(0ul, _rig.Device.Core.DriverFeatures);
        Assert.False(_rig.IntxLevel);
        Assert.Equal(0ul, _rig.Read(VirtioPciLayout.IsrOffset, sizeof(byte)));
    }

    [Fact]
    public void A_rebuilt_incarnation_keeps_the_BAR_the_queue_and_its_vector_and_goes_on_serving_the_ring()
    {
        _rig.EnableMsix(QueueVector, MsiData);
        var queue = _rig.Start()[0];
        _rig.Common(VirtioPciRegisters.QueueMsixVector, sizeof(ushort), QueueVector);
        ulong bar = _rig.BarBase;

        var rebuilt = _rig.Rebuild(_rig.Device.CaptureState());
        queue.MakeAvailable(queue.AddChain([DriverBuffer.Writable(Buffers, 16)]));
        _rig.Mailbox.Post(new VirtioSignals.QueueNotified(0));
        _rig.RunSlowPath();

        Assert.True(rebuilt.Core.IsRunning);
        Assert.Equal(bar, _rig.BarBase);
        Assert.True(queue.TryTakeUsed(out var used));
        Assert.Equal(16u, used.Length);
        Assert.Equal([MsiData], _rig.Routes[QueueVector].Delivered.Select(m => m.Data));
    }

    [Fact]
    public void Random_accesses_anywhere_in_the_BAR_and_the_capabilities_never_fault_the_device()
    {
        var random = new Random(13);
        int[] widths = [sizeof(byte), sizeof(ushort), sizeof(uint), sizeof(ulong)];
        int capabilities = PciHeader.StandardHeaderSize;
        for (int i = 0; i < 20_000; i++)
        {
            int width = widths[random.Next(widths.Length)];
            ulong offset = (ulong)random.NextInt64((long)VirtioPciLayout.BarSize - width);
            ulong value = (ulong)random.NextInt64();
            if (random.Next(2) == 0)
            {
                _rig.Write(offset, width, value & (ulong.MaxValue >> (64 - (8 * width))));
            }
            else
            {
                _rig.Read(offset, width);
            }

            // Now and then a configuration cycle somewhere in the capabilities (the PCI-config window included).
            if (i % 16 == 0)
            {
                int register = capabilities + random.Next(PciHeader.ConfigSpaceSize - capabilities - sizeof(uint));
                _rig.ConfigWrite(register & ~3, sizeof(uint), (uint)value);
                Assert.NotEqual(DispatchOutcome.Faulted, _rig.Bus.LastOutcome);
            }

            _rig.RunSlowPath();
        }

        Assert.NotEqual(DispatchOutcome.Faulted, _rig.Bus.LastOutcome);
    }

    [Fact]
    public void A_model_whose_type_is_not_the_functions_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => new VirtioPciRig(VirtioDeviceType.Block, _ => new VirtioRng()));

        Assert.Contains(nameof(VirtioDeviceType.Entropy), error.Message, StringComparison.Ordinal);
    }
}
