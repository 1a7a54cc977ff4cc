using ActorVmm.Devices.Pci.Msix;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Devices.Pci;

/// <summary>
/// One PCI function as every PCI device model reuses it: the type-0 configuration header with its BARs and
/// capabilities, BAR placement, INTx and MSI-X. Configuration cycles arrive from the bus (any vCPU); the owning
/// device's BAR handler reaches the MSI-X table and raises interrupts. All of it is serialized by <see cref="Sync"/>,
/// which a device adapter uses as its own lock too (it is re-entrant), so a device and its config space never
/// need two locks. Host-side effects happen synchronously inside the access that causes them: a BAR write or a
/// decode-bit toggle calls the BAR's <see cref="IBarPlacement"/> before the config write returns.
/// </summary>
public sealed class PciFunction
{
    private readonly Lock _lock = new();
    private readonly PciConfigSpace _config;
    private readonly MsixTable? _msix;
    private readonly PciBarDefinition[] _bars;
    private readonly IBarPlacement[] _placements;
    private readonly PciBarPlacement[] _reported;
    private readonly IInterruptLine? _intx;
    private readonly Action<int, int>? _configWritten;
    private PciConfigIntercept? _intercept;
    private Action<int, PciBarPlacement>? _placementObserver;
    private bool _intxPending;
    private bool _intxAsserted;

    /// <summary>Creates the function at power-on, or rebuilt from <paramref name="restored"/>; publishes every BAR's placement and the INTx level.</summary>
    /// <exception cref="ArgumentException">The definition is invalid, or a seam it needs is missing.</exception>
    /// <exception cref="DeviceStateException"><paramref name="restored"/> is inconsistent or belongs to another function.</exception>
    public PciFunction(PciFunctionDefinition definition, PciFunctionWiring wiring, PciFunctionState? restored = null)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(wiring);
        definition.Validate();
        Definition = definition;
        if (definition.InterruptPin != PciInterruptPin.None)
        {
            _intx = wiring.Intx ?? throw new ArgumentException($"{definition.VendorId:x4}:{definition.DeviceId:x4} uses an INTx pin but no interrupt source is wired");
        }

        if (definition.Msix is { } msix)
        {
            var vectors = wiring.MsiVectors ?? throw new ArgumentException($"{definition.VendorId:x4}:{definition.DeviceId:x4} has MSI-X but no MSI vectors are wired");
            _msix = new MsixTable(msix, vectors);
        }

        _configWritten = wiring.ConfigWritten;
        _config = new PciConfigSpace(definition, wiring.InterruptLine);
        _bars = [.. definition.Bars];
        _placements = [.. _bars.Select(b => wiring.Bars(b.Index) ?? throw new ArgumentException($"no placement wired for BAR {b.Index}"))];
        _reported = new PciBarPlacement[_bars.Length];
        if (restored is not null)
        {
            LoadState(restored);
        }

        lock (_lock)
        {
            // A rebuilt function puts its BARs, INTx level and MSI routes back where the guest left them.
            for (int i = 0; i < _bars.Length; i++)
            {
                _reported[i] = _config.Placement(_bars[i]);
                _placements[i].Place(_reported[i].Address, _reported[i].Enabled);
            }

            _msix?.SetControl(MsixEnabledBit, FunctionMaskBit);
            _msix?.PublishProgrammedMessages();
            _intxAsserted = EffectiveIntx;
            _intx?.SetLevel(_intxAsserted);
        }
    }

    /// <summary>What the function is.</summary>
    public PciFunctionDefinition Definition { get; }

    /// <summary>The function's lock; a device adapter takes it for its own registers too (re-entrant).</summary>
    public Lock Sync => _lock;

    /// <summary>The command register.</summary>
    public PciCommand Command
    {
        get
        {
            lock (_lock)
            {
                return _config.Command;
            }
        }
    }

    /// <summary>True when the guest let the function master the bus (DMA).</summary>
    public bool BusMasterEnabled => (Command & PciCommand.BusMaster) != 0;

    /// <summary>True when the guest enabled MSI-X (INTx is then not used).</summary>
    public bool MsixEnabled
    {
        get
        {
            lock (_lock)
            {
                return MsixEnabledBit;
            }
        }
    }

    /// <summary>The interrupt line register as the guest left it.</summary>
    public byte InterruptLine
    {
        get
        {
            lock (_lock)
            {
                return _config.InterruptLine;
            }
        }
    }

    /// <summary>True while the function drives its INTx source high (pending, not disabled, MSI-X off).</summary>
    public bool IntxAsserted
    {
        get
        {
            lock (_lock)
            {
                return _intxAsserted;
            }
        }
    }

    /// <summary>Header type bit 7; the slot sets it on function 0 when the device has other functions.</summary>
    internal bool MultiFunction
    {
        get
        {
            lock (_lock)
            {
                return _config.MultiFunction;
            }
        }

        set
        {
            lock (_lock)
            {
                _config.MultiFunction = value;
            }
        }
    }

    private bool MsixEnabledBit => (_config.MsixControl & MsixRegisters.Enable) != 0;

    private bool FunctionMaskBit => (_config.MsixControl & MsixRegisters.FunctionMask) != 0;

    private bool EffectiveIntx => _intxPending && (_config.Command & PciCommand.InterruptDisable) == 0 && !MsixEnabledBit;

    /// <summary>A configuration read of 1, 2 or 4 bytes at <paramref name="offset"/> (0–4095; 256 and above read 0).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a valid configuration access (the bus checks guest input first).</exception>
    public uint ReadConfig(int offset, int size)
    {
        CheckAccess(offset, size);
        lock (_lock)
        {
            uint value = _config.Read(offset, size);
            if (InterceptedPart(offset, size) is not { } part)
            {
                return value;
            }

            // The bytes inside the intercepted window come from the device, the others from the registers.
            uint served = _intercept!.Read(part.Start - _intercept.Offset, part.Size);
            int shift = 8 * (part.Start - offset);
            uint mask = LaneMask(part.Size) << shift;
            return (value & ~mask) | ((served << shift) & mask);
        }
    }

    /// <summary>
    /// A configuration write of 1, 2 or 4 bytes at <paramref name="offset"/> (0–4095; 256 and above are dropped).
    /// Placements, INTx and MSI-X follow before it returns.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a valid configuration access (the bus checks guest input first).</exception>
    public void WriteConfig(int offset, int size, uint value)
    {
        CheckAccess(offset, size);
        lock (_lock)
        {
            _config.Write(offset, size, value);
            if (InterceptedPart(offset, size) is { } part)
            {
                uint lanes = (value >> (8 * (part.Start - offset))) & LaneMask(part.Size);
                _intercept!.Write(part.Start - _intercept.Offset, part.Size, lanes);
            }

            Refresh();
            _configWritten?.Invoke(offset, size);
        }
    }

    /// <summary>
    /// Lets the device serve a window of configuration space itself (<see cref="PciConfigIntercept"/>); called once, by
    /// the device that owns the function, before the guest can reach it.
    /// </summary>
    /// <exception cref="ArgumentException">The window is outside the capabilities area.</exception>
    /// <exception cref="InvalidOperationException">The function already has an intercept.</exception>
    public void Intercept(PciConfigIntercept intercept)
    {
        ArgumentNullException.ThrowIfNull(intercept);
        intercept.Validate();
        lock (_lock)
        {
            if (_intercept is not null)
            {
                throw new InvalidOperationException("the function already has a configuration intercept");
            }

            _intercept = intercept;
        }
    }

    /// <summary>
    /// Tells <paramref name="observer"/> (bar register index, placement) where each BAR decodes now, then again after
    /// every change a guest write or a reset makes, after the BAR's region has followed; under the function's lock, so
    /// it must not block or throw (virtio-pci moves its notify doorbells with its BAR here).
    /// </summary>
    public void ObservePlacements(Action<int, PciBarPlacement> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        lock (_lock)
        {
            _placementObserver = observer;
            for (int i = 0; i < _bars.Length; i++)
            {
                observer(_bars[i].Index, _reported[i]);
            }
        }
    }

    /// <summary>Where BAR <paramref name="index"/> decodes now, as last reported to its placement.</summary>
    /// <exception cref="ArgumentException">The function has no BAR with that index.</exception>
    public PciBarPlacement Placement(int index)
    {
        int slot = Array.FindIndex(_bars, b => b.Index == index);
        if (slot < 0)
        {
            throw new ArgumentException($"the function has no BAR {index}", nameof(index));
        }

        lock (_lock)
        {
            return _reported[slot];
        }
    }

    /// <summary>The device's INTx level (e.g. virtio's ISR bit): shown in the status register, driven on the pin unless disabled or MSI-X is on.</summary>
    public void SetIntxLevel(bool pending)
    {
        lock (_lock)
        {
            _intxPending = pending;
            UpdateIntx();
        }
    }

    /// <summary>Raises MSI-X vector <paramref name="vector"/> (delivered, or pending while masked); false when MSI-X is off or the vector does not exist.</summary>
    public bool TriggerMsix(int vector)
    {
        lock (_lock)
        {
            return _msix?.Trigger(vector) ?? false;
        }
    }

    /// <summary>True when MSI-X vector <paramref name="vector"/> is pending (for tests and diagnostics).</summary>
    public bool IsMsixPending(int vector)
    {
        lock (_lock)
        {
            return _msix is not null && (uint)vector < (uint)_msix.VectorCount && _msix.IsPending(vector);
        }
    }

    /// <summary>
    /// Serves an access to BAR <paramref name="bar"/> at <paramref name="offset"/> when it starts in the MSI-X table or
    /// PBA (bytes past them read 0 and are not written); false when it does not, so the device handles it.
    /// </summary>
    public bool TryHandleMsixAccess(int bar, ulong offset, Span<byte> data, bool isWrite)
    {
        lock (_lock)
        {
            if (_msix is null || !_msix.Contains(bar, offset))
            {
                return false;
            }

            if (isWrite)
            {
                _msix.Write(bar, offset, data);
            }
            else
            {
                _msix.Read(bar, offset, data);
            }

            return true;
        }
    }

    /// <summary><see cref="TryHandleMsixAccess(int, ulong, Span{byte}, bool)"/> for a trap on the BAR's region.</summary>
    public bool TryHandleMsixAccess(int bar, TrapAccess access) => TryHandleMsixAccess(bar, access.Offset, access.Data, access.IsWrite);

    /// <summary>The device reports an error condition (status bits the guest clears by writing 1).</summary>
    public void SignalStatus(PciStatus errors)
    {
        lock (_lock)
        {
            _config.SetStatus(errors & PciStatusBits.WriteOneToClear, true);
        }
    }

    /// <summary>Back to power-on (function-level reset): BARs unplaced, decoding off, INTx low, MSI-X off and masked.</summary>
    public void Reset()
    {
        lock (_lock)
        {
            _config.Reset();
            _msix?.Reset();
            _intxPending = false;
            Refresh();
        }
    }

    /// <summary>The guest-visible state.</summary>
    public PciFunctionState CaptureState()
    {
        lock (_lock)
        {
            return new PciFunctionState(
                _config.Capture(),
                _msix?.CaptureTable() ?? [],
                _msix?.CapturePending() ?? [],
                _intxPending);
        }
    }

    private static void CheckAccess(int offset, int size)
    {
        if (size is not (1 or 2 or 4))
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "configuration accesses are 1, 2 or 4 bytes");
        }

        if (offset < 0 || offset + size > PciHeader.ExtendedConfigSpaceSize)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, "configuration accesses are inside 0..4095");
        }
    }

    private static uint LaneMask(int size) => size >= sizeof(uint) ? uint.MaxValue : (1u << (8 * size)) - 1;

    // The part of an access [offset, offset + size) inside the intercepted window, or null.
    private (int Start, int Size)? InterceptedPart(int offset, int size)
    {
        if (_intercept is not { } window)
        {
            return null;
        }

        int start = Math.Max(offset, window.Offset);
        int end = Math.Min(offset + size, window.Offset + window.Length);
        return start < end ? (start, end - start) : null;
    }

    private void LoadState(PciFunctionState state)
    {
        state.Validate();
        if (_msix is null && (state.MsixTable.Length != 0 || state.MsixPending.Length != 0))
        {
            throw new DeviceStateException("PCI function state has an MSI-X table; the function has no MSI-X");
        }

        _config.Restore(state.Config);
        _msix?.Restore(state.MsixTable, state.MsixPending);
        _intxPending = state.IntxPending;
    }

    // Runs under the lock after every change the guest or the device makes: MSI-X control, then placements, then INTx.
    private void Refresh()
    {
        _msix?.SetControl(MsixEnabledBit, FunctionMaskBit);
        for (int i = 0; i < _bars.Length; i++)
        {
            var placement = _config.Placement(_bars[i]);
            if (placement != _reported[i])
            {
                _reported[i] = placement;
                _placements[i].Place(placement.Address, placement.Enabled);
                _placementObserver?.Invoke(_bars[i].Index, placement);
            }
        }

        UpdateIntx();
    }

    private void UpdateIntx()
    {
        _config.SetStatus(PciStatus.InterruptStatus, _intxPending);
        bool asserted = EffectiveIntx;
        if (asserted != _intxAsserted)
        {
            _intxAsserted = asserted;
            _intx?.SetLevel(asserted);
        }
    }
}
