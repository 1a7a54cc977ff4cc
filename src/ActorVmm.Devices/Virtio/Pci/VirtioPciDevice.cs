using ActorVmm.Devices.Pci;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Traps;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ActorVmm.Devices.Virtio.Pci;

/// <summary>
/// The modern virtio-pci transport (virtio 1.2 §4.1) for any device model: a PCI function (vendor 0x1AF4, device
/// 0x1040 + type, revision 1) whose common configuration, notification area, ISR and device configuration live in one
/// 64-bit memory BAR (<see cref="VirtioPciLayout"/>), found through vendor-specific capabilities, with the PCI
/// configuration access capability forwarding pci_cfg_data to the BAR. Modern only: no legacy I/O BAR.
/// <para>
/// Threads: BAR accesses and configuration cycles run on vCPU threads, queue work on the device's actor; the device
/// core shares the function's lock, so every path takes one lock. A queue's notify address is a doorbell (KVM:
/// ioeventfd; emulator: the in-process notifier) that posts <see cref="VirtioSignals.QueueNotified"/> to the actor;
/// the doorbells follow the BAR when the guest moves it. A notify write the doorbell does not take (another width,
/// a backend without doorbells) reaches <see cref="HandleBar"/>, which posts the same signal.
/// </para>
/// <para>
/// Interrupts: with MSI-X on, the queue's or the configuration's vector (none for VIRTIO_MSI_NO_VECTOR), delivered
/// through the VM's MSI routes (irqfd on KVM); with MSI-X off, INTA with the ISR bits (read-to-clear). Every guest
/// value is checked: accesses of the wrong width or offset, a queue_select naming no queue, a queue size that is not a
/// power of two or above the maximum, a vector outside the table (reads back NO_VECTOR) are refused and counted.
/// </para>
/// </summary>
public sealed class VirtioPciDevice : PciDevice, ISlowPathDevice, IConsoleInputDevice, IVirtioInterrupts
{
    private readonly VirtioDeviceCore _core;
    private readonly ILogger _logger;
    private readonly int _pciCfgCap;
    private readonly byte[] _pciCfgData = new byte[VirtioPciState.PciCfgDataLength];
    private byte _isr;
    private uint _deviceFeatureSelect;
    private uint _driverFeatureSelect;
    private ushort _queueSelect;

    /// <summary>
    /// Creates the transport for <paramref name="model"/>, at power-on or rebuilt from the context's restored
    /// <see cref="VirtioPciState"/>. A core state that does not fit gives a device with DEVICE_NEEDS_RESET set and a
    /// configuration interrupt, so the driver resets it (the function keeps its BAR and MSI-X table).
    /// </summary>
    /// <exception cref="ArgumentException">The model is not the type the function announces, or does not fit the layout.</exception>
    /// <exception cref="DeviceStateException">The restored state is not a virtio-pci state, or its function does not fit.</exception>
    public VirtioPciDevice(PciDeviceContext context, IVirtioDeviceModel model, ILogger? logger = null)
        : base(context, RestoredFunction(context))
    {
        ArgumentNullException.ThrowIfNull(model);
        if (VirtioPciLayout.DeviceId(model.DeviceType) != context.Definition.DeviceId || model.QueueCount > VirtioPciLayout.MaxQueues || model.ConfigLength > VirtioPciLayout.DeviceCfgLength)
        {
            throw new ArgumentException($"a {model.DeviceType} model with {model.QueueCount} queues and {model.ConfigLength} configuration bytes does not fit PCI function {context.Definition.VendorId:x4}:{context.Definition.DeviceId:x4}", nameof(model));
        }

        _logger = logger ?? NullLogger.Instance;
        _pciCfgCap = VirtioPciLayout.CapabilityOffset(context.Definition, VirtioPciRegisters.CapPciCfg);
        _core = new VirtioDeviceCore(Name, model, context.Device.Dma, context.Device.Post, this, _logger, Function.Sync);
        lock (Function.Sync)
        {
            Rebuild(context.Device.Restore<VirtioPciState>());
            if (_pciCfgCap >= 0)
            {
                Function.Intercept(new PciConfigIntercept(_pciCfgCap + VirtioPciRegisters.PciCfgData, VirtioPciState.PciCfgDataLength, ReadPciCfgData, WritePciCfgData));
            }

            Function.ObservePlacements(PlaceDoorbells);
        }
    }

    /// <summary>The transport-independent device (negotiation, status, queues).</summary>
    public VirtioDeviceCore Core => _core;

    /// <summary>What the device refused or reported.</summary>
    public VirtioCounters Counters => _core.Counters;

    /// <summary>The ISR status bits as the driver would read them (without clearing them).</summary>
    public byte Isr
    {
        get
        {
            lock (Function.Sync)
            {
                return _isr;
            }
        }
    }

    /// <summary>The device as a platform's PCI bus takes it: a fresh model per incarnation, rebuilt from the restored state.</summary>
    public static PciDeviceDefinition Definition(VirtioDeviceSpec spec, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new PciDeviceDefinition(spec.Name, VirtioPciLayout.Function(spec.Type), c => new VirtioPciDevice(c, spec.CreateModel(c.Device), logger));
    }

    /// <inheritdoc />
    public object? OnSlowPath(object message) => _core.OnSlowPath(message);

    /// <inheritdoc />
    public void OnInputAvailable() => _core.OnInputAvailable();

    /// <inheritdoc />
    public override DeviceState CaptureState()
    {
        lock (Function.Sync)
        {
            return new VirtioPciState(Function.CaptureState(), _core.CaptureState(), _isr, _deviceFeatureSelect, _driverFeatureSelect, _queueSelect, [.. _pciCfgData]);
        }
    }

    /// <inheritdoc />
    void IVirtioInterrupts.NotifyUsedBuffers(int queue)
    {
        if (Function.MsixEnabled)
        {
            Signal(_core.QueueMsixVector(queue));
            return;
        }

        RaiseIsr(VirtioPciRegisters.IsrQueue);
    }

    /// <inheritdoc />
    void IVirtioInterrupts.NotifyConfigurationChange()
    {
        // §4.1.4.5.1: the configuration bit is set in ISR whether or not MSI-X is on.
        if (Function.MsixEnabled)
        {
            _isr |= VirtioPciRegisters.IsrConfig;
            Signal(_core.ConfigMsixVector);
            return;
        }

        RaiseIsr(VirtioPciRegisters.IsrConfig);
    }

    /// <inheritdoc />
    protected override void HandleBar(int bar, TrapAccess access)
    {
        if (bar != VirtioPciLayout.Bar)
        {
            Ignore(access.Offset, access.Data, access.IsWrite, "not the virtio BAR");
            return;
        }

        AccessBar(access.Offset, access.Data, access.IsWrite);
    }

    /// <inheritdoc />
    protected override void ResetRegisters()
    {
        _core.Reset();
        ResetTransport();
    }

    private static PciFunctionState? RestoredFunction(PciDeviceContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Device.Restore<VirtioPciState>()?.Function;
    }

    private static bool Within(ulong offset, int length, uint start, uint size) => offset >= start && offset - start < size && offset - start + (ulong)length <= size;

    private int SelectedQueue => _queueSelect < _core.QueueCount ? _queueSelect : -1;

    private int VectorCount => Context.Definition.Msix?.VectorCount ?? 0;

    // One BAR access (from a trap or through pci_cfg_data), under the function's lock; MSI-X was served before.
    private void AccessBar(ulong offset, Span<byte> data, bool isWrite)
    {
        if (Within(offset, data.Length, VirtioPciLayout.CommonCfgOffset, VirtioPciRegisters.CommonCfgSize))
        {
            AccessCommon((int)(offset - VirtioPciLayout.CommonCfgOffset), data, isWrite);
        }
        else if (Within(offset, data.Length, VirtioPciLayout.DeviceCfgOffset, VirtioPciLayout.DeviceCfgLength))
        {
            if (isWrite)
            {
                _core.WriteConfig(offset - VirtioPciLayout.DeviceCfgOffset, data);
            }
            else
            {
                _core.ReadConfig(offset - VirtioPciLayout.DeviceCfgOffset, data);
            }
        }
        else if (offset == VirtioPciLayout.IsrOffset && data.Length == sizeof(byte) && !isWrite)
        {
            // §4.1.4.5: reading ISR status clears it and deasserts INTx.
            data[0] = _isr;
            _isr = 0;
            Function.SetIntxLevel(false);
        }
        else if (Within(offset, data.Length, VirtioPciLayout.NotifyOffset, VirtioPciLayout.NotifyLength) && isWrite
            && (offset - VirtioPciLayout.NotifyOffset) % VirtioPciLayout.NotifyOffMultiplier == 0)
        {
            // The address names the queue (a write the doorbell did not take: another width, or no doorbells).
            _core.Notify((uint)((offset - VirtioPciLayout.NotifyOffset) / VirtioPciLayout.NotifyOffMultiplier));
        }
        else
        {
            Ignore(offset, data, isWrite, "no register of that width there");
        }
    }

    private void AccessCommon(int offset, Span<byte> data, bool isWrite)
    {
        if (!CommonField(offset, data.Length, out int field, out bool highHalf))
        {
            Ignore((ulong)offset, data, isWrite, "not a common configuration field of that width");
            return;
        }

        if (isWrite)
        {
            WriteCommon(field, highHalf, TrapAccess.ReadLittleEndian(data), data);
        }
        else
        {
            TrapAccess.WriteLittleEndian(data, ReadCommon(field, highHalf, data.Length));
        }
    }

    // §4.1.3.1: each field in its natural width; a 64-bit field also as either 32-bit half.
    private static bool CommonField(int offset, int length, out int field, out bool highHalf)
    {
        highHalf = false;
        field = offset;
        switch (offset)
        {
            case VirtioPciRegisters.DeviceFeatureSelect or VirtioPciRegisters.DeviceFeature or VirtioPciRegisters.DriverFeatureSelect or VirtioPciRegisters.DriverFeature:
                return length == sizeof(uint);
            case VirtioPciRegisters.ConfigMsixVector or VirtioPciRegisters.NumQueues or VirtioPciRegisters.QueueSelect or VirtioPciRegisters.QueueSize
                or VirtioPciRegisters.QueueMsixVector or VirtioPciRegisters.QueueEnable or VirtioPciRegisters.QueueNotifyOff
                or VirtioPciRegisters.QueueNotifyData or VirtioPciRegisters.QueueReset:
                return length == sizeof(ushort);
            case VirtioPciRegisters.DeviceStatus or VirtioPciRegisters.ConfigGeneration:
                return length == sizeof(byte);
            case VirtioPciRegisters.QueueDesc or VirtioPciRegisters.QueueDriver or VirtioPciRegisters.QueueDevice:
                return length is sizeof(uint) or sizeof(ulong);
            case VirtioPciRegisters.QueueDesc + sizeof(uint) or VirtioPciRegisters.QueueDriver + sizeof(uint) or VirtioPciRegisters.QueueDevice + sizeof(uint):
                field = offset - sizeof(uint);
                highHalf = true;
                return length == sizeof(uint);
            default:
                return false;
        }
    }

    private ulong ReadCommon(int field, bool highHalf, int length)
    {
        int queue = SelectedQueue;
        return field switch
        {
            VirtioPciRegisters.DeviceFeatureSelect => _deviceFeatureSelect,
            VirtioPciRegisters.DeviceFeature => _core.ReadDeviceFeatures(_deviceFeatureSelect),
            VirtioPciRegisters.DriverFeatureSelect => _driverFeatureSelect,
            VirtioPciRegisters.DriverFeature => _driverFeatureSelect > 1 ? 0 : (uint)(_core.DriverFeatures >> (32 * (int)_driverFeatureSelect)),
            VirtioPciRegisters.ConfigMsixVector => _core.ConfigMsixVector,
            VirtioPciRegisters.NumQueues => (ulong)_core.QueueCount,
            VirtioPciRegisters.DeviceStatus => _core.Status,
            VirtioPciRegisters.ConfigGeneration => (byte)_core.ConfigGeneration,
            VirtioPciRegisters.QueueSelect => _queueSelect,
            VirtioPciRegisters.QueueSize => queue < 0 ? 0 : _core.QueueSize(queue),
            VirtioPciRegisters.QueueMsixVector => _core.QueueMsixVector(queue),
            VirtioPciRegisters.QueueEnable => _core.QueueReady(queue) ? 1u : 0u,
            VirtioPciRegisters.QueueNotifyOff => queue < 0 ? 0 : (ulong)queue,
            VirtioPciRegisters.QueueDesc => QueueAddress(queue, VirtqueueArea.Descriptor, highHalf, length),
            VirtioPciRegisters.QueueDriver => QueueAddress(queue, VirtqueueArea.Driver, highHalf, length),
            VirtioPciRegisters.QueueDevice => QueueAddress(queue, VirtqueueArea.Device, highHalf, length),
            _ => 0,
        };
    }

    private ulong QueueAddress(int queue, VirtqueueArea area, bool highHalf, int length)
    {
        ulong address = _core.QueueAddress(queue, area);
        return highHalf ? address >> 32 : length == sizeof(uint) ? address & uint.MaxValue : address;
    }

    private void WriteCommon(int field, bool highHalf, ulong value, ReadOnlySpan<byte> data)
    {
        int queue = SelectedQueue;
        switch (field)
        {
            case VirtioPciRegisters.DeviceFeatureSelect:
                _deviceFeatureSelect = (uint)value;
                break;
            case VirtioPciRegisters.DriverFeatureSelect:
                _driverFeatureSelect = (uint)value;
                break;
            case VirtioPciRegisters.DriverFeature:
                _core.WriteDriverFeatures(_driverFeatureSelect, (uint)value);
                break;
            case VirtioPciRegisters.ConfigMsixVector:
                _core.ConfigMsixVector = CheckedVector(field, (ushort)value);
                break;
            case VirtioPciRegisters.DeviceStatus:
                _core.WriteStatus((byte)value);
                if (value == 0)
                {
                    ResetTransport();
                }

                break;
            case VirtioPciRegisters.QueueSelect:
                _queueSelect = (ushort)value;
                break;
            case VirtioPciRegisters.QueueSize when SplitRingSizeFits(value, queue):
                _core.SetQueueSize(queue, (uint)value);
                break;
            case VirtioPciRegisters.QueueMsixVector when queue >= 0:
                _core.SetQueueMsixVector(queue, CheckedVector(field, (ushort)value));
                break;
            case VirtioPciRegisters.QueueEnable when value == 1:
                // §4.1.4.3.2: the driver never writes 0 here (a queue is disabled by a device reset only).
                _core.SetQueueReady(queue, true);
                break;
            case VirtioPciRegisters.QueueDesc or VirtioPciRegisters.QueueDriver or VirtioPciRegisters.QueueDevice:
                var area = field switch
                {
                    VirtioPciRegisters.QueueDesc => VirtqueueArea.Descriptor,
                    VirtioPciRegisters.QueueDriver => VirtqueueArea.Driver,
                    _ => VirtqueueArea.Device,
                };
                _core.SetQueueAddress(queue, area, highHalf, (uint)value);
                if (data.Length == sizeof(ulong))
                {
                    _core.SetQueueAddress(queue, area, highHalf: true, (uint)(value >> 32));
                }

                break;
            default:
                Refuse((ulong)field, data.Length, isWrite: true, "a read-only field, a queue_select naming no queue, or a value the field cannot hold");
                break;
        }
    }

    // queue_size: a power of two no larger than the queue's maximum, for a queue that exists.
    private bool SplitRingSizeFits(ulong size, int queue) =>
        queue >= 0 && size <= _core.QueueMaxSize(queue) && Queues.SplitRing.IsValidSize((long)size);

    // A vector outside the table is refused: the field then reads back NO_VECTOR (§4.1.5.1.2).
    private ushort CheckedVector(int field, ushort vector)
    {
        if (vector == VirtioPciRegisters.NoVector || vector < VectorCount)
        {
            return vector;
        }

        Refuse((ulong)field, sizeof(ushort), isWrite: true, $"MSI-X vector {vector} is outside the table of {VectorCount}");
        return VirtioPciRegisters.NoVector;
    }

    private void Signal(ushort vector)
    {
        if (vector != VirtioPciRegisters.NoVector)
        {
            Function.TriggerMsix(vector);
        }
    }

    private void RaiseIsr(byte bit)
    {
        _isr |= bit;
        Function.SetIntxLevel(true);
    }

    private void ResetTransport()
    {
        _isr = 0;
        _deviceFeatureSelect = 0;
        _driverFeatureSelect = 0;
        _queueSelect = 0;
        Function.SetIntxLevel(false);
    }

    // pci_cfg_data: the driver set cap.bar, cap.offset and cap.length; the access goes to that place of the BAR.
    private uint ReadPciCfgData(int offset, int size)
    {
        if (PciCfgTarget() is not { } target)
        {
            return 0;
        }

        Span<byte> window = _pciCfgData.AsSpan(0, target.Length);
        window.Clear();
        if (!Function.TryHandleMsixAccess(VirtioPciLayout.Bar, target.Offset, window, isWrite: false))
        {
            AccessBar(target.Offset, window, isWrite: false);
        }

        return (uint)TrapAccess.ReadLittleEndian(_pciCfgData.AsSpan(offset, size));
    }

    private void WritePciCfgData(int offset, int size, uint value)
    {
        TrapAccess.WriteLittleEndian(_pciCfgData.AsSpan(offset, size), value);
        if (PciCfgTarget() is { } target)
        {
            Span<byte> window = _pciCfgData.AsSpan(0, target.Length);
            if (!Function.TryHandleMsixAccess(VirtioPciLayout.Bar, target.Offset, window, isWrite: true))
            {
                AccessBar(target.Offset, window, isWrite: true);
            }
        }
    }

    // §4.1.4.9: 1, 2 or 4 bytes, aligned to the length, inside the virtio BAR; anything else is refused.
    private (ulong Offset, int Length)? PciCfgTarget()
    {
        uint bar = Function.ReadConfig(_pciCfgCap + VirtioPciRegisters.CapBar, sizeof(byte));
        uint offset = Function.ReadConfig(_pciCfgCap + VirtioPciRegisters.CapOffset, sizeof(uint));
        uint length = Function.ReadConfig(_pciCfgCap + VirtioPciRegisters.CapStructureLength, sizeof(uint));
        if (bar != VirtioPciLayout.Bar || length is not (1 or 2 or 4) || offset % length != 0 || offset + (ulong)length > VirtioPciLayout.BarSize)
        {
            Refuse(offset, (int)Math.Min(length, sizeof(uint)), isWrite: false, $"pci_cfg_data window onto BAR {bar} at 0x{offset:X} of {length} bytes");
            return null;
        }

        return (offset, (int)length);
    }

    /// <summary>
    /// Puts each queue's doorbell at its notify address while the BAR decodes there, and takes them away while it does
    /// not (decoding off, BAR unplaced, or its region shadowed by another). A doorbell the backend refuses leaves that
    /// queue's notifications to the trap handler, which is slower but loses nothing.
    /// </summary>
    private void PlaceDoorbells(int bar, PciBarPlacement placement)
    {
        var doorbells = Context.Device.Doorbells;
        if (bar != VirtioPciLayout.Bar || !doorbells.IsAvailable)
        {
            return;
        }

        var regions = Context.Device.Regions;
        bool decoding = placement.Enabled && (!regions.IsGranted || regions[0].IsDecoding);
        for (int queue = 0; queue < _core.QueueCount; queue++)
        {
            var bell = decoding ? new Doorbell(TrapBus.Mmio, placement.Address + VirtioPciLayout.NotifyOffset + ((ulong)queue * VirtioPciLayout.NotifyOffMultiplier), VirtioPciRegisters.NotifyWidth) : null;
            var notified = new VirtioSignals.QueueNotified(queue);
            var post = Context.Device.Post;
            try
            {
                doorbells.Place(queue, bell, () => post(notified));
            }
            catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or IOException)
            {
                doorbells.Place(queue, null, () => post(notified));
                _logger.LogWarning("virtio {Device}: no doorbell for queue {Queue} at {Doorbell} ({Reason}); its notifications take the trap path", Name, queue, bell, ex.Message);
            }
        }
    }

    // An access the transport refuses: a read answers 0, a write changes nothing; counted, logged rate-limited.
    private void Ignore(ulong offset, Span<byte> data, bool isWrite, string why)
    {
        if (!isWrite)
        {
            data.Clear();
        }

        Refuse(offset, data.Length, isWrite, why);
    }

    private void Refuse(ulong offset, int width, bool isWrite, string why)
    {
        long count = _core.Counters.AddIgnoredRegisterAccess();
        if (VirtioCounters.ShouldLog(count))
        {
            _logger.LogWarning(
                "virtio {Device}: {Width}-byte {Direction} at BAR offset 0x{Offset:X} ignored: {Reason} ({Count} so far)",
                Name,
                width,
                isWrite ? "write" : "read",
                offset,
                why,
                count);
        }
    }

    private void Rebuild(VirtioPciState? state)
    {
        if (state is null)
        {
            Function.SetIntxLevel(false);
            return;
        }

        try
        {
            state.Validate();
            _isr = state.Isr;
            _deviceFeatureSelect = state.DeviceFeatureSelect;
            _driverFeatureSelect = state.DriverFeatureSelect;
            _queueSelect = state.QueueSelect;
            state.PciCfgData.CopyTo(_pciCfgData);
            _core.Restore(state.Core);
            Function.SetIntxLevel(_isr != 0);
        }
        catch (DeviceStateException ex)
        {
            ResetTransport();
            _core.StartNeedingReset(state.Core?.Status ?? 0, ex.Message);
        }
    }
}
