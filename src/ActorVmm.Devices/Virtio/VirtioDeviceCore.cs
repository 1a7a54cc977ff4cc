using ActorVmm.Devices.Virtio.Queues;
using ActorVmm.Machine.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ActorVmm.Devices.Virtio;

/// <summary>
/// The transport-independent part of a virtio device (virtio 1.2 §2–§3): 64-bit feature negotiation with the
/// FEATURES_OK check, the device status state machine (a write of 0 resets every queue and feature to power-on
/// state), per-queue configuration, the configuration space and its generation counter, and the work on live
/// queues, which it hands to the <see cref="IVirtioDeviceModel"/>. Transports (virtio-mmio, virtio-pci)
/// translate their registers into calls here and map <see cref="IVirtioInterrupts"/> to their interrupt mechanism.
/// <para>
/// Threads: register calls come from vCPU threads, queue work from the device's slow path
/// (<see cref="OnSlowPath"/>); one lock of the device's own (<see cref="SyncRoot"/>, shared with the transport)
/// serializes them, so a reset or a disabled queue is never followed by guest memory access from work already under
/// way. A notification only posts <see cref="VirtioSignals.QueueNotified"/>; no queue is worked on a vCPU thread.
/// </para>
/// <para>
/// Errors: a malformed ring or chain (<see cref="VirtqueueException"/>) or a DMA refusal
/// (<see cref="GuestMemoryException"/>) sets DEVICE_NEEDS_RESET, retires every queue and sends a
/// configuration-change notification; the host never faults, and the event is counted and logged.
/// </para>
/// </summary>
public sealed class VirtioDeviceCore : IVirtioModelHost
{
    /// <summary>VIRTIO_MSI_NO_VECTOR: no MSI-X vector assigned.</summary>
    public const ushort NoMsixVector = 0xFFFF;

    private readonly Lock _lock;
    private readonly string _name;
    private readonly IVirtioDeviceModel _model;
    private readonly GuestDma _dma;
    private readonly Action<object> _post;
    private readonly IVirtioInterrupts _interrupts;
    private readonly ILogger _logger;
    private readonly QueueSlot[] _queues;
    private ulong _driverFeatures;
    private byte _status;
    private uint _configGeneration;
    private ushort _configVector = NoMsixVector;

    /// <summary>Creates a device at power-on state.</summary>
    /// <param name="name">Device name for logs.</param>
    /// <param name="model">The device type.</param>
    /// <param name="dma">Guest RAM.</param>
    /// <param name="post">Posts a message to the device's own slow path (<see cref="DeviceContext.Post"/>).</param>
    /// <param name="interrupts">The transport's notification mechanism.</param>
    /// <param name="logger">Where refused guest input is reported.</param>
    /// <param name="syncRoot">
    /// The transport's own lock when it has one the core must share (virtio-pci: the PCI function's, so configuration
    /// cycles, BAR accesses, queue work and interrupts all take one lock in one order); null: a lock of the core's own.
    /// </param>
    public VirtioDeviceCore(string name, IVirtioDeviceModel model, GuestDma dma, Action<object> post, IVirtioInterrupts interrupts, ILogger? logger = null, Lock? syncRoot = null)
    {
        _lock = syncRoot ?? new Lock();
        _name = name ?? throw new ArgumentNullException(nameof(name));
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _dma = dma ?? throw new ArgumentNullException(nameof(dma));
        _post = post ?? throw new ArgumentNullException(nameof(post));
        _interrupts = interrupts ?? throw new ArgumentNullException(nameof(interrupts));
        _logger = logger ?? NullLogger.Instance;
        if ((model.Features & VirtioFeatures.ReservedForTransport) != 0 || !SplitRing.IsValidSize(model.MaxQueueSize) || model.QueueCount is <= 0 or > VirtioCoreState.MaxQueues
            || model.ConfigLength is < 0 or > VirtioCoreState.MaxConfigLength)
        {
            throw new ArgumentException($"{model.DeviceType} model has reserved feature bits, a bad queue size or count, or a bad configuration length", nameof(model));
        }

        DeviceFeatures = model.Features | VirtioFeatures.Offered;
        _queues = new QueueSlot[model.QueueCount];
        for (int i = 0; i < _queues.Length; i++)
        {
            _queues[i] = new QueueSlot(model.MaxQueueSize);
        }
    }

    /// <summary>The lock that serializes the device; transports take it around their own registers too (it is reentrant).</summary>
    public Lock SyncRoot => _lock;

    /// <summary>What the device refused or reported.</summary>
    public VirtioCounters Counters { get; } = new();

    /// <summary>The device type.</summary>
    public IVirtioDeviceModel Model => _model;

    /// <summary>The virtio device ID.</summary>
    public VirtioDeviceType DeviceType => _model.DeviceType;

    /// <summary>Every feature the device offers (device type plus <see cref="VirtioFeatures.Offered"/>).</summary>
    public ulong DeviceFeatures { get; }

    /// <summary>Number of virtqueues.</summary>
    public int QueueCount => _queues.Length;

    /// <summary>The features the driver wrote (negotiated once FEATURES_OK is set).</summary>
    public ulong DriverFeatures
    {
        get
        {
            lock (_lock)
            {
                return _driverFeatures;
            }
        }
    }

    /// <inheritdoc />
    public ulong NegotiatedFeatures => DriverFeatures;

    /// <summary>The device status field.</summary>
    public byte Status
    {
        get
        {
            lock (_lock)
            {
                return _status;
            }
        }
    }

    /// <summary>The configuration generation: changes whenever the driver could see the configuration space change.</summary>
    public uint ConfigGeneration
    {
        get
        {
            lock (_lock)
            {
                return _configGeneration;
            }
        }
    }

    /// <summary>MSI-X vector for configuration changes (PCI transport).</summary>
    public ushort ConfigMsixVector
    {
        get
        {
            lock (_lock)
            {
                return _configVector;
            }
        }

        set
        {
            lock (_lock)
            {
                _configVector = value;
            }
        }
    }

    /// <inheritdoc />
    public GuestDma Dma => _dma;

    /// <summary>True when the driver has the device running: DRIVER_OK without DEVICE_NEEDS_RESET or FAILED.</summary>
    public bool IsRunning
    {
        get
        {
            lock (_lock)
            {
                return Running;
            }
        }
    }

    private bool Running => (_status & (VirtioStatus.DriverOk | VirtioStatus.DeviceNeedsReset | VirtioStatus.Failed)) == VirtioStatus.DriverOk;

    /// <summary>Device feature bits 32×<paramref name="word"/> to 32×<paramref name="word"/>+31 (0 beyond bit 63).</summary>
    public uint ReadDeviceFeatures(uint word) => word switch
    {
        0 => (uint)DeviceFeatures,
        1 => (uint)(DeviceFeatures >> 32),
        _ => 0,
    };

    /// <summary>
    /// Sets driver feature bits 32×<paramref name="word"/> to 32×<paramref name="word"/>+31. Ignored (and counted) once
    /// FEATURES_OK is set or for a word beyond bit 63.
    /// </summary>
    public void WriteDriverFeatures(uint word, uint value)
    {
        lock (_lock)
        {
            if (word > 1 || (_status & VirtioStatus.FeaturesOk) != 0)
            {
                Counters.AddIgnoredRegisterAccess();
                return;
            }

            int shift = (int)word * 32;
            _driverFeatures = (_driverFeatures & ~(0xFFFF_FFFFUL << shift)) | ((ulong)value << shift);
        }
    }

    /// <summary>
    /// A driver write of the status field. 0 resets the device. Otherwise bits may only be added: a write that clears a
    /// driver bit is ignored (DEVICE_NEEDS_RESET is the device's and is kept whatever is written). FEATURES_OK stays clear
    /// when the accepted features are refused; DRIVER_OK is ignored without FEATURES_OK; DRIVER_OK starts the enabled queues.
    /// </summary>
    public void WriteStatus(byte value)
    {
        lock (_lock)
        {
            if (value == 0)
            {
                ResetLocked();
                return;
            }

            byte current = (byte)(_status & VirtioStatus.DriverBits);
            byte written = (byte)(value & VirtioStatus.DriverBits);
            if ((current & ~written) != 0)
            {
                // The driver must never clear a bit; only a reset does.
                Counters.AddIgnoredRegisterAccess();
                return;
            }

            byte added = (byte)(written & ~current);
            if ((added & VirtioStatus.FeaturesOk) != 0 && !FeaturesAcceptable(_driverFeatures))
            {
                added &= unchecked((byte)~VirtioStatus.FeaturesOk);
                long refused = Counters.AddRefusedFeatures();
                if (VirtioCounters.ShouldLog(refused))
                {
                    _logger.LogWarning(
                        "virtio {Device}: driver features 0x{DriverFeatures:X} refused (offered 0x{DeviceFeatures:X}; VERSION_1 is required); FEATURES_OK stays clear ({Count} so far)",
                        _name,
                        _driverFeatures,
                        DeviceFeatures,
                        refused);
                }
            }

            if ((added & VirtioStatus.DriverOk) != 0 && ((current | added) & VirtioStatus.FeaturesOk) == 0)
            {
                added &= unchecked((byte)~VirtioStatus.DriverOk);
                Counters.AddIgnoredRegisterAccess();
            }

            _status |= added;
            if ((added & VirtioStatus.Failed) != 0)
            {
                // The driver gave up: stop touching its rings until it resets the device.
                StopQueues();
            }
            else if ((added & VirtioStatus.DriverOk) != 0 && Running)
            {
                _model.Activate(this);
                for (int i = 0; i < _queues.Length && Running; i++)
                {
                    if (_queues[i].Ready)
                    {
                        StartQueue(i, 0, 0, []);
                    }
                }
            }
        }
    }

    /// <summary>QueueNumMax / queue_size maximum of queue <paramref name="queue"/>; 0 when there is no such queue.</summary>
    public ushort QueueMaxSize(int queue) => (uint)queue < (uint)_queues.Length ? _model.MaxQueueSize : (ushort)0;

    /// <summary>The size of queue <paramref name="queue"/> (the maximum until the driver writes one); 0 when there is no such queue.</summary>
    public uint QueueSize(int queue)
    {
        lock (_lock)
        {
            return Slot(queue)?.Size ?? 0;
        }
    }

    /// <summary>Sets a queue's size; ignored (and counted) for a missing queue or one that is enabled. Checked when the queue goes live.</summary>
    public void SetQueueSize(int queue, uint size)
    {
        lock (_lock)
        {
            if (WritableSlot(queue) is { } slot)
            {
                slot.Size = size;
            }
        }
    }

    /// <summary>Sets 32 bits of a queue area address; ignored (and counted) for a missing queue or one that is enabled.</summary>
    public void SetQueueAddress(int queue, VirtqueueArea area, bool highHalf, uint value)
    {
        lock (_lock)
        {
            if (WritableSlot(queue) is not { } slot)
            {
                return;
            }

            ulong current = area switch
            {
                VirtqueueArea.Descriptor => slot.DescriptorArea,
                VirtqueueArea.Driver => slot.DriverArea,
                _ => slot.DeviceArea,
            };
            ulong updated = highHalf ? (current & 0xFFFF_FFFFUL) | ((ulong)value << 32) : (current & ~0xFFFF_FFFFUL) | value;
            switch (area)
            {
                case VirtqueueArea.Descriptor:
                    slot.DescriptorArea = updated;
                    break;
                case VirtqueueArea.Driver:
                    slot.DriverArea = updated;
                    break;
                default:
                    slot.DeviceArea = updated;
                    break;
            }
        }
    }

    /// <summary>A queue area address as written (0 for a missing queue).</summary>
    public ulong QueueAddress(int queue, VirtqueueArea area)
    {
        lock (_lock)
        {
            return Slot(queue) is not { } slot ? 0 : area switch
            {
                VirtqueueArea.Descriptor => slot.DescriptorArea,
                VirtqueueArea.Driver => slot.DriverArea,
                _ => slot.DeviceArea,
            };
        }
    }

    /// <summary>QueueReady / queue_enable of a queue (false for a missing queue).</summary>
    public bool QueueReady(int queue)
    {
        lock (_lock)
        {
            return Slot(queue)?.Ready ?? false;
        }
    }

    /// <summary>
    /// Enables or disables a queue. Enabling a queue of a running device checks its layout and starts it; disabling
    /// retires it at once (no further access to its rings) and forgets its ring positions.
    /// </summary>
    public void SetQueueReady(int queue, bool ready)
    {
        lock (_lock)
        {
            if (Slot(queue) is not { } slot)
            {
                Counters.AddIgnoredRegisterAccess();
                return;
            }

            if (ready == slot.Ready)
            {
                return;
            }

            slot.Ready = ready;
            if (!ready)
            {
                slot.Live?.Retire();
                slot.Live = null;
                slot.PendingResubmit = [];
            }
            else if (Running)
            {
                StartQueue(queue, 0, 0, []);
            }
        }
    }

    /// <summary>MSI-X vector of a queue (PCI transport); <see cref="NoMsixVector"/> for a missing queue.</summary>
    public ushort QueueMsixVector(int queue)
    {
        lock (_lock)
        {
            return Slot(queue)?.MsixVector ?? NoMsixVector;
        }
    }

    /// <summary>Sets the MSI-X vector of a queue (PCI transport); ignored for a missing queue.</summary>
    public void SetQueueMsixVector(int queue, ushort vector)
    {
        lock (_lock)
        {
            if (Slot(queue) is { } slot)
            {
                slot.MsixVector = vector;
            }
        }
    }

    /// <summary>Reads configuration space; bytes past its end read 0.</summary>
    public void ReadConfig(ulong offset, Span<byte> destination)
    {
        destination.Clear();
        lock (_lock)
        {
            if (offset < (ulong)_model.ConfigLength)
            {
                int length = (int)Math.Min((ulong)destination.Length, (ulong)_model.ConfigLength - offset);
                _model.ReadConfig((int)offset, destination[..length]);
            }
        }
    }

    /// <summary>Writes configuration space; bytes past its end are dropped.</summary>
    public void WriteConfig(ulong offset, ReadOnlySpan<byte> source)
    {
        lock (_lock)
        {
            if (offset < (ulong)_model.ConfigLength)
            {
                int length = (int)Math.Min((ulong)source.Length, (ulong)_model.ConfigLength - offset);
                _model.WriteConfig((int)offset, source[..length]);
            }
        }
    }

    /// <summary>
    /// The driver notified a queue (the value written to the notify register): posts <see cref="VirtioSignals.QueueNotified"/>
    /// to the slow path and returns. A value that names no queue is counted and dropped.
    /// </summary>
    public void Notify(uint queue)
    {
        Counters.AddNotification();
        if (queue >= (uint)_queues.Length)
        {
            Counters.AddIgnoredRegisterAccess();
            return;
        }

        _post(new VirtioSignals.QueueNotified((int)queue));
    }

    /// <summary>
    /// Slow-path work: a queue notification makes the model take what its queue holds; other messages (I/O completions)
    /// go to the model. Returns <see cref="DeviceSignals.NotUnderstood"/> for messages neither understands, else null.
    /// </summary>
    public object? OnSlowPath(object message)
    {
        ArgumentNullException.ThrowIfNull(message);
        lock (_lock)
        {
            if (message is VirtioSignals.QueueNotified notified)
            {
                if (Running && Slot(notified.Queue)?.Live is not null)
                {
                    RunModel(notified.Queue, static (core, queue) => core.ProcessLiveQueue(queue));
                }

                return null;
            }

            // A message whose handling ran into a malformed chain was the model's (it threw before answering).
            bool understood = false;
            bool completed = RunModel(0, (core, _) => understood = core._model.OnMessage(message));
            return understood || !completed ? null : DeviceSignals.NotUnderstood.Instance;
        }
    }

    /// <summary>Host input is waiting (console models take it); runs on the slow path.</summary>
    public void OnInputAvailable()
    {
        lock (_lock)
        {
            if (Running && _model is IConsoleInputDevice input)
            {
                RunModel(0, (_, _) => input.OnInputAvailable());
            }
        }
    }

    /// <inheritdoc />
    public Virtqueue? Queue(int index)
    {
        lock (_lock)
        {
            return Slot(index)?.Live;
        }
    }

    /// <inheritdoc />
    public void Post(object message) => _post(message);

    /// <inheritdoc />
    public void CountBadRequest(string reason)
    {
        long count = Counters.AddBadRequest();
        if (VirtioCounters.ShouldLog(count))
        {
            _logger.LogWarning("virtio {Device}: request refused: {Reason} ({Count} so far)", _name, reason, count);
        }
    }

    /// <summary>
    /// The model's configuration changed (console size, block capacity): bumps the generation and, while DRIVER_OK is
    /// set, sends a configuration-change notification.
    /// </summary>
    public void ConfigChanged()
    {
        lock (_lock)
        {
            _configGeneration++;
            if ((_status & VirtioStatus.DriverOk) != 0)
            {
                Counters.AddInterrupt();
                _interrupts.NotifyConfigurationChange();
            }
        }
    }

    /// <summary>Device reset (a status write of 0): every feature, queue and status bit back to power-on state.</summary>
    public void Reset()
    {
        lock (_lock)
        {
            ResetLocked();
        }
    }

    /// <summary>The device's state, read under its lock (between two pieces of queue work, never inside one).</summary>
    public VirtioCoreState CaptureState()
    {
        lock (_lock)
        {
            byte[] config = new byte[_model.ConfigLength];
            _model.ReadConfig(0, config);
            var queues = new VirtqueueState[_queues.Length];
            for (int i = 0; i < queues.Length; i++)
            {
                var slot = _queues[i];
                var live = slot.Live;
                queues[i] = new VirtqueueState(
                    slot.Size,
                    slot.Ready,
                    slot.DescriptorArea,
                    slot.DriverArea,
                    slot.DeviceArea,
                    slot.MsixVector,
                    live?.NextAvailable ?? 0,
                    live?.NextUsed ?? 0,
                    StateArray.Create<ushort>(live is null ? [] : live.InFlightHeads()));
            }

            return new VirtioCoreState((int)_model.DeviceType, DeviceFeatures, _driverFeatures, _status, _configGeneration, _configVector, StateArray.Create<byte>(config), StateArray.Create<VirtqueueState>(queues));
        }
    }

    /// <summary>
    /// Rebuilds the device from a validated state: a running device's queues go live again at their ring positions,
    /// the chains they held are handled again on the slow path, and each queue is looked at once more. When the
    /// configuration space now reads differently (the image was resized), the generation moves and the driver is told.
    /// </summary>
    /// <exception cref="DeviceStateException">The state does not fit this device (another type, other features, queues or configuration size); nothing changed.</exception>
    public void Restore(VirtioCoreState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        lock (_lock)
        {
            CheckFits(state);
            _driverFeatures = state.DriverFeatures;
            _status = state.Status;
            _configGeneration = state.ConfigGeneration;
            _configVector = state.ConfigMsixVector;
            for (int i = 0; i < _queues.Length; i++)
            {
                var saved = state.Queues[i];
                _queues[i] = new QueueSlot(_model.MaxQueueSize)
                {
                    Size = saved.Size,
                    Ready = saved.Ready,
                    DescriptorArea = saved.DescriptorArea,
                    DriverArea = saved.DriverArea,
                    DeviceArea = saved.DeviceArea,
                    MsixVector = saved.MsixVector,
                };
            }

            byte[] config = new byte[_model.ConfigLength];
            _model.ReadConfig(0, config);
            bool configMoved = !state.Config.SequenceEqual(config);
            if (Running)
            {
                _model.Activate(this);
                for (int i = 0; i < _queues.Length && Running; i++)
                {
                    var saved = state.Queues[i];
                    if (saved.Ready)
                    {
                        StartQueue(i, saved.NextAvailable, saved.NextUsed, [.. saved.InFlight]);
                    }
                }
            }

            if (configMoved)
            {
                ConfigChanged();
            }
        }
    }

    /// <summary>
    /// Power-on state with DEVICE_NEEDS_RESET set, for an incarnation whose predecessor's state could not be trusted:
    /// no queue is touched, and the driver (whose status bits, if known, are shown again) is told to reset the device.
    /// </summary>
    public void StartNeedingReset(byte previousDriverStatus, string reason)
    {
        lock (_lock)
        {
            ResetLocked();
            _status = (byte)((previousDriverStatus & VirtioStatus.DriverBits) | VirtioStatus.DeviceNeedsReset);
            long errors = Counters.AddDeviceError();
            _logger.LogWarning("virtio {Device}: rebuilt without a trustworthy state ({Reason}); DEVICE_NEEDS_RESET set ({Count} so far)", _name, reason, errors);
            Counters.AddInterrupt();
            _interrupts.NotifyConfigurationChange();
        }
    }

    private static bool IsGuestFault(Exception ex) => ex is VirtqueueException or GuestMemoryException;

    private bool FeaturesAcceptable(ulong features) =>
        (features & ~DeviceFeatures) == 0 && (features & VirtioFeatures.Version1) != 0 && _model.AcceptsFeatures(features);

    private void CheckFits(VirtioCoreState state)
    {
        void Require(bool condition, string what)
        {
            if (!condition)
            {
                throw new DeviceStateException($"virtio {_name}: {what}");
            }
        }

        state.Validate(Require);
        Require(state.DeviceType == (int)_model.DeviceType, $"state of a {(VirtioDeviceType)state.DeviceType} device, this is a {_model.DeviceType}");
        Require(state.DeviceFeatures == DeviceFeatures, $"state offered features 0x{state.DeviceFeatures:X}, this device offers 0x{DeviceFeatures:X}");
        Require(state.Queues.Length == _queues.Length, $"state has {state.Queues.Length} queues, this device {_queues.Length}");
        Require(state.Config.Length == _model.ConfigLength, $"state has {state.Config.Length} configuration bytes, this device {_model.ConfigLength}");
        if (state.IsRunning)
        {
            Require(state.Queues.All(q => !q.Ready || q.Size <= _model.MaxQueueSize), $"a live queue is larger than {_model.MaxQueueSize}");
            Require(FeaturesAcceptable(state.DriverFeatures), $"negotiated features 0x{state.DriverFeatures:X} are not acceptable to this device");
        }
    }

    private QueueSlot? Slot(int queue) => (uint)queue < (uint)_queues.Length ? _queues[queue] : null;

    private QueueSlot? WritableSlot(int queue)
    {
        var slot = Slot(queue);
        if (slot is null || slot.Ready)
        {
            // §4.2.2.2: the driver must not touch a queue's size or addresses while it is enabled.
            Counters.AddIgnoredRegisterAccess();
            return null;
        }

        return slot;
    }

    private void StartQueue(int index, ushort nextAvailable, ushort nextUsed, ushort[] inFlight)
    {
        var slot = _queues[index];
        var layout = new VirtqueueLayout(slot.Size, slot.DescriptorArea, slot.DriverArea, slot.DeviceArea);
        try
        {
            layout.Validate(_model.MaxQueueSize, _dma);
            var live = new Virtqueue(
                index,
                layout,
                _dma,
                (_driverFeatures & VirtioFeatures.EventIndex) != 0,
                (_driverFeatures & VirtioFeatures.IndirectDescriptors) != 0,
                nextAvailable,
                nextUsed,
                inFlight);
            live.Start();
            slot.Live = live;
            slot.PendingResubmit = inFlight;

            // Buffers may have been made available before the queue went live (or before a restart): look once.
            _post(new VirtioSignals.QueueNotified(index));
        }
        catch (Exception ex) when (IsGuestFault(ex))
        {
            RaiseDeviceError(ex);
        }
        catch (GuestMemoryClosedException)
        {
            StopQueues();
        }
    }

    private void ProcessLiveQueue(int index)
    {
        var slot = _queues[index];
        var live = slot.Live!;
        if (slot.PendingResubmit.Length > 0)
        {
            ushort[] heads = slot.PendingResubmit;
            slot.PendingResubmit = [];
            foreach (ushort head in heads)
            {
                _model.Resubmit(live, live.ReadChain(head));
            }
        }

        _model.ProcessQueue(live);
    }

    /// <summary>
    /// Runs model work under the lock: guest faults become DEVICE_NEEDS_RESET; used entries it added are signalled.
    /// False when the work was cut short by a guest fault or closed memory.
    /// </summary>
    private bool RunModel(int argument, Action<VirtioDeviceCore, int> work)
    {
        try
        {
            work(this, argument);
            SignalUsedBuffers();
            return true;
        }
        catch (Exception ex) when (IsGuestFault(ex))
        {
            RaiseDeviceError(ex);
        }
        catch (GuestMemoryClosedException)
        {
            // The VM is stopping and its RAM is gone: there is nobody left to tell.
            StopQueues();
        }

        return false;
    }

    private void SignalUsedBuffers()
    {
        for (int i = 0; i < _queues.Length; i++)
        {
            if (_queues[i].Live is { HasUnsignalledUsed: true } live && live.DecideInterrupt())
            {
                Counters.AddInterrupt();
                _interrupts.NotifyUsedBuffers(i);
            }
        }
    }

    private void RaiseDeviceError(Exception ex)
    {
        long errors = Counters.AddDeviceError();
        if (ex is VirtqueueException)
        {
            Counters.AddMalformedQueue();
        }

        if (VirtioCounters.ShouldLog(errors))
        {
            _logger.LogWarning("virtio {Device}: {Error}; DEVICE_NEEDS_RESET set ({Count} so far)", _name, ex.Message, errors);
        }

        _status |= VirtioStatus.DeviceNeedsReset;
        StopQueues();

        // §2.1.2: once DRIVER_OK was set, the driver must be told.
        if ((_status & VirtioStatus.DriverOk) != 0)
        {
            Counters.AddInterrupt();
            _interrupts.NotifyConfigurationChange();
        }
    }

    private void StopQueues()
    {
        foreach (var slot in _queues)
        {
            slot.Live?.Retire();
            slot.Live = null;
            slot.PendingResubmit = [];
        }

        _model.Reset();
    }

    private void ResetLocked()
    {
        StopQueues();
        _status = 0;
        _driverFeatures = 0;
        _configVector = NoMsixVector;
        for (int i = 0; i < _queues.Length; i++)
        {
            _queues[i] = new QueueSlot(_model.MaxQueueSize);
        }
    }

    /// <summary>One queue's registers and, while it is live, its ring worker.</summary>
    private sealed class QueueSlot(ushort maxSize)
    {
        public uint Size { get; set; } = maxSize;

        public bool Ready { get; set; }

        public ulong DescriptorArea { get; set; }

        public ulong DriverArea { get; set; }

        public ulong DeviceArea { get; set; }

        public ushort MsixVector { get; set; } = NoMsixVector;

        public Virtqueue? Live { get; set; }

        /// <summary>Chains held across a restart, handled again before anything new.</summary>
        public ushort[] PendingResubmit { get; set; } = [];
    }
}

/// <summary>The three parts of a split virtqueue, as the transport registers name them.</summary>
public enum VirtqueueArea
{
    /// <summary>Descriptor area: the descriptor table (QueueDesc).</summary>
    Descriptor,

    /// <summary>Driver area: the available ring (QueueDriver / QueueAvail).</summary>
    Driver,

    /// <summary>Device area: the used ring (QueueDevice / QueueUsed).</summary>
    Device,
}
