using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Traps;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ActorVmm.Devices.Virtio.Mmio;

/// <summary>
/// The virtio-mmio version 2 transport (virtio 1.2 §4.2) for any device model: one MMIO window of control registers
/// (aligned 32-bit accesses only) and the configuration space at 0x100 (any width). Registers are handled on the vCPU
/// thread under the device core's lock; a QueueNotify write only posts <see cref="VirtioSignals.QueueNotified"/>, and
/// the queue is worked in <see cref="OnSlowPath"/> on the device's actor. Notifications set InterruptStatus bits and
/// drive the interrupt line: high while any bit is set, with a fresh edge for each new event so an edge-triggered
/// controller sees it. Accesses the spec does not allow (other widths, misaligned, write-only reads, read-only writes)
/// read 0 or are dropped, and are counted; nothing a guest does here throws.
/// </summary>
public sealed class VirtioMmioDevice : IDevice, ISlowPathDevice, IConsoleInputDevice, IVirtioInterrupts
{
    private readonly VirtioDeviceCore _core;
    private readonly IInterruptLine _line;
    private readonly ILogger _logger;
    private uint _interruptStatus;
    private uint _deviceFeaturesSelect;
    private uint _driverFeaturesSelect;
    private uint _queueSelect;
    private uint _sharedMemorySelect;

    /// <summary>
    /// Creates the transport for <paramref name="model"/> at <paramref name="slot"/>, at power-on state or rebuilt from
    /// <see cref="DeviceContext.RestoredState"/>. A restored state that fails validation or does not fit the model
    /// gives a device with DEVICE_NEEDS_RESET set and a configuration-change interrupt pending, so the driver resets it.
    /// </summary>
    public VirtioMmioDevice(string name, VirtioMmioSlot slot, IVirtioDeviceModel model, DeviceContext context, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(slot);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(context);
        if (slot.Size < VirtioMmioRegisters.WindowSize || model.ConfigLength > VirtioMmioRegisters.MaxConfigLength)
        {
            throw new ArgumentException($"virtio-mmio window of 0x{slot.Size:X} bytes cannot hold {model.DeviceType}'s {model.ConfigLength}-byte configuration space", nameof(slot));
        }

        Name = name ?? throw new ArgumentNullException(nameof(name));
        Regions = [new DeviceRegion(TrapBus.Mmio, slot.Base, slot.Size)];
        _logger = logger ?? NullLogger.Instance;
        _line = context.GetInterruptLine(slot.Irq);
        _core = new VirtioDeviceCore(name, model, context.Dma, context.Post, this, _logger);
        Rebuild(context.RestoredState);
        PlaceDoorbells(slot, context);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public IReadOnlyList<DeviceRegion> Regions { get; }

    /// <summary>The transport-independent device (negotiation, status, queues).</summary>
    public VirtioDeviceCore Core => _core;

    /// <summary>What the device refused or reported.</summary>
    public VirtioCounters Counters => _core.Counters;

    /// <summary>InterruptStatus as the driver would read it.</summary>
    public uint InterruptStatus
    {
        get
        {
            lock (_core.SyncRoot)
            {
                return _interruptStatus;
            }
        }
    }

    /// <summary>A definition for a VM's device list: a fresh transport and model per (re)start, rebuilt from the restored state.</summary>
    public static DeviceDefinition Definition(string name, VirtioMmioSlot slot, Func<DeviceContext, IVirtioDeviceModel> createModel, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(createModel);
        return new DeviceDefinition(name, context => new VirtioMmioDevice(name, slot, createModel(context), context, logger));
    }

    /// <inheritdoc />
    public void HandleTrap(int region, TrapAccess access)
    {
        ulong offset = access.Offset;
        lock (_core.SyncRoot)
        {
            if (region != 0)
            {
                Ignore(access, "outside the window");
            }
            else if (offset >= VirtioMmioRegisters.Config)
            {
                // §4.2.2: the configuration space takes accesses of any width.
                if (access.IsWrite)
                {
                    _core.WriteConfig(offset - VirtioMmioRegisters.Config, access.Data);
                }
                else
                {
                    _core.ReadConfig(offset - VirtioMmioRegisters.Config, access.Data);
                }
            }
            else if (access.Length != VirtioMmioRegisters.RegisterWidth || offset % VirtioMmioRegisters.RegisterWidth != 0)
            {
                Ignore(access, "not an aligned 32-bit access");
            }
            else if (access.IsWrite)
            {
                WriteRegister((int)offset, (uint)access.Value, access);
            }
            else
            {
                ReadRegister((int)offset, access);
            }
        }
    }

    /// <inheritdoc />
    public object? OnSlowPath(object message) => _core.OnSlowPath(message);

    /// <inheritdoc />
    public void OnInputAvailable() => _core.OnInputAvailable();

    /// <inheritdoc />
    public void Reset()
    {
        lock (_core.SyncRoot)
        {
            _core.Reset();
            ResetTransport();
        }
    }

    /// <inheritdoc />
    public DeviceState CaptureState()
    {
        lock (_core.SyncRoot)
        {
            return new VirtioMmioState(_core.CaptureState(), _interruptStatus, _deviceFeaturesSelect, _driverFeaturesSelect, _queueSelect, _sharedMemorySelect);
        }
    }

    /// <inheritdoc />
    void IVirtioInterrupts.NotifyUsedBuffers(int queue) => Raise(VirtioMmioRegisters.InterruptUsedBuffer);

    /// <inheritdoc />
    void IVirtioInterrupts.NotifyConfigurationChange() => Raise(VirtioMmioRegisters.InterruptConfigChange);

    private int SelectedQueue => _queueSelect > int.MaxValue ? -1 : (int)_queueSelect;

    private void ReadRegister(int offset, TrapAccess access)
    {
        uint value;
        switch (offset)
        {
            case VirtioMmioRegisters.MagicValue:
                value = VirtioMmioRegisters.Magic;
                break;
            case VirtioMmioRegisters.Version:
                value = VirtioMmioRegisters.Version2;
                break;
            case VirtioMmioRegisters.DeviceId:
                value = (uint)_core.DeviceType;
                break;
            case VirtioMmioRegisters.VendorId:
                value = VirtioMmioRegisters.ActorVmmVendor;
                break;
            case VirtioMmioRegisters.DeviceFeatures:
                value = _core.ReadDeviceFeatures(_deviceFeaturesSelect);
                break;
            case VirtioMmioRegisters.QueueNumMax:
                value = _core.QueueMaxSize(SelectedQueue);
                break;
            case VirtioMmioRegisters.QueueReady:
                value = _core.QueueReady(SelectedQueue) ? 1u : 0u;
                break;
            case VirtioMmioRegisters.InterruptStatus:
                value = _interruptStatus;
                break;
            case VirtioMmioRegisters.Status:
                value = _core.Status;
                break;
            case VirtioMmioRegisters.ShmLenLow or VirtioMmioRegisters.ShmLenHigh or VirtioMmioRegisters.ShmBaseLow or VirtioMmioRegisters.ShmBaseHigh:
                // §4.2.2: no shared memory regions: length -1 and base all ones for every SHMSel.
                value = uint.MaxValue;
                break;
            case VirtioMmioRegisters.QueueReset:
                value = 0;
                break;
            case VirtioMmioRegisters.ConfigGeneration:
                value = _core.ConfigGeneration;
                break;
            default:
                Ignore(access, "a write-only or undefined register");
                return;
        }

        access.SetValue(value);
    }

    private void WriteRegister(int offset, uint value, TrapAccess access)
    {
        int queue = SelectedQueue;
        switch (offset)
        {
            case VirtioMmioRegisters.DeviceFeaturesSel:
                _deviceFeaturesSelect = value;
                break;
            case VirtioMmioRegisters.DriverFeatures:
                _core.WriteDriverFeatures(_driverFeaturesSelect, value);
                break;
            case VirtioMmioRegisters.DriverFeaturesSel:
                _driverFeaturesSelect = value;
                break;
            case VirtioMmioRegisters.QueueSel:
                _queueSelect = value;
                break;
            case VirtioMmioRegisters.QueueNum:
                _core.SetQueueSize(queue, value);
                break;
            case VirtioMmioRegisters.QueueReady when value <= 1:
                _core.SetQueueReady(queue, value == 1);
                break;
            case VirtioMmioRegisters.QueueNotify:
                _core.Notify(value);
                break;
            case VirtioMmioRegisters.InterruptAck:
                _interruptStatus &= ~value;
                _line.SetLevel(_interruptStatus != 0);
                break;
            case VirtioMmioRegisters.Status when value <= byte.MaxValue:
                _core.WriteStatus((byte)value);
                if (value == 0)
                {
                    ResetTransport();
                }

                break;
            case VirtioMmioRegisters.QueueDescLow or VirtioMmioRegisters.QueueDescHigh:
                _core.SetQueueAddress(queue, VirtqueueArea.Descriptor, offset == VirtioMmioRegisters.QueueDescHigh, value);
                break;
            case VirtioMmioRegisters.QueueDriverLow or VirtioMmioRegisters.QueueDriverHigh:
                _core.SetQueueAddress(queue, VirtqueueArea.Driver, offset == VirtioMmioRegisters.QueueDriverHigh, value);
                break;
            case VirtioMmioRegisters.QueueDeviceLow or VirtioMmioRegisters.QueueDeviceHigh:
                _core.SetQueueAddress(queue, VirtqueueArea.Device, offset == VirtioMmioRegisters.QueueDeviceHigh, value);
                break;
            case VirtioMmioRegisters.ShmSel:
                _sharedMemorySelect = value;
                break;
            default:
                Ignore(access, "a read-only or undefined register, or a value it cannot hold");
                break;
        }
    }

    /// <summary>
    /// One doorbell per queue on QueueNotify, matching the queue's index (KVM: an ioeventfd with datamatch): the kick
    /// posts <see cref="VirtioSignals.QueueNotified"/> to the device's actor without the register handler running on
    /// the vCPU thread. A value naming no queue still reaches <see cref="HandleTrap"/>, which counts and drops it.
    /// </summary>
    private void PlaceDoorbells(VirtioMmioSlot slot, DeviceContext context)
    {
        for (int queue = 0; queue < _core.QueueCount; queue++)
        {
            var notified = new VirtioSignals.QueueNotified(queue);
            var bell = new Doorbell(TrapBus.Mmio, slot.Base + VirtioMmioRegisters.QueueNotify, VirtioMmioRegisters.RegisterWidth, (ulong)queue);
            context.Doorbells.Place(queue, bell, () => context.Post(notified));
        }
    }

    private void Raise(uint bit)
    {
        bool alreadyPending = _interruptStatus != 0;
        _interruptStatus |= bit;

        // A fresh edge per event: an edge-triggered controller would miss one raised while the line is already high.
        if (alreadyPending)
        {
            _line.SetLevel(false);
        }

        _line.SetLevel(true);
    }

    private void ResetTransport()
    {
        // §4.2.2.1: a reset clears InterruptStatus (and QueueReady, which the core did).
        _interruptStatus = 0;
        _deviceFeaturesSelect = 0;
        _driverFeaturesSelect = 0;
        _queueSelect = 0;
        _sharedMemorySelect = 0;
        _line.SetLevel(false);
    }

    private void Ignore(TrapAccess access, string why)
    {
        if (!access.IsWrite)
        {
            access.Data.Clear();
        }

        long count = _core.Counters.AddIgnoredRegisterAccess();
        if (VirtioCounters.ShouldLog(count))
        {
            _logger.LogWarning(
                "virtio {Device}: {Width}-byte {Direction} at offset 0x{Offset:X} ignored: {Reason} ({Count} so far)",
                Name,
                access.Length,
                access.IsWrite ? "write" : "read",
                access.Offset,
                why,
                count);
        }
    }

    private void Rebuild(DeviceState? restored)
    {
        lock (_core.SyncRoot)
        {
            if (restored is null)
            {
                _line.SetLevel(false);
                return;
            }

            var state = restored as VirtioMmioState;
            try
            {
                if (state is null)
                {
                    throw new DeviceStateException($"{Name} cannot be rebuilt from a {restored.GetType().Name}");
                }

                state.Validate();
                _interruptStatus = state.InterruptStatus;
                _deviceFeaturesSelect = state.DeviceFeaturesSelect;
                _driverFeaturesSelect = state.DriverFeaturesSelect;
                _queueSelect = state.QueueSelect;
                _sharedMemorySelect = state.SharedMemorySelect;
                _core.Restore(state.Core);
                _line.SetLevel(_interruptStatus != 0);
            }
            catch (DeviceStateException ex)
            {
                ResetTransport();
                _core.StartNeedingReset(state?.Core?.Status ?? 0, ex.Message);
            }
        }
    }
}
