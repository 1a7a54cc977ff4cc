using System.Buffers.Binary;
using ActorVmm.Devices.Pci;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Traps;
using static ActorVmm.Machine.Passthrough.VfioPciIndexes;

namespace ActorVmm.Devices.Vfio;

/// <summary>
/// A host PCI function passed through with VFIO (kvmtool's vfio/pci.c on this machine's models): the guest sees a
/// <see cref="PciFunction"/> built from the device's own header, with the BARs, MSI, MSI-X and ROM virtualized, so the
/// guest programs its own BAR addresses and moves go through the function's synchronous placements. Each BAR is one
/// trap region: its mmappable pages are also memory slots on top of it (no exits there), and what traps (I/O BARs,
/// non-mmappable parts, the MSI-X table and PBA) is forwarded to the device with pread/pwrite at the same offset,
/// except the MSI-X structures, which the virtual table serves. INTx is an irqfd with resample; MSI and MSI-X vectors
/// are routes whose irqfds VFIO signals, armed with SET_IRQS when the guest enables them and re-routed when it
/// reprograms a message. Those changes are made inside the guest's access (the next access must see them, as with BAR
/// moves); the device reset is slow-path work on the device's actor.
/// </summary>
public sealed class VfioPciDevice : IDevice, ISlowPathDevice
{
    /// <summary>Command bits mirrored into the real device: decoding, bus mastering (DMA) and the INTx disable bit.</summary>
    public const PciCommand MirroredCommandBits = PciCommand.IoSpace | PciCommand.MemorySpace | PciCommand.BusMaster | PciCommand.InterruptDisable;

    private readonly VfioPciPassthrough _passthrough;
    private readonly DeviceContext _context;
    private readonly PciSlot _slot;
    private readonly PciBarDefinition[] _bars;
    private readonly PciFunction _function;

    /// <summary>
    /// Builds an incarnation on <paramref name="slot"/> (function 0), at power-on or from the context's restored state, and
    /// attaches it; at power-on <paramref name="programFirmware"/> (the platform's BAR assignment) runs on the new function.
    /// </summary>
    public VfioPciDevice(string name, VfioPciPassthrough passthrough, PciSlot slot, DeviceContext context, Action<PciFunction>? programFirmware = null)
    {
        Name = name ?? throw new ArgumentNullException(nameof(name));
        _passthrough = passthrough ?? throw new ArgumentNullException(nameof(passthrough));
        _slot = slot ?? throw new ArgumentNullException(nameof(slot));
        _context = context ?? throw new ArgumentNullException(nameof(context));
        var definition = passthrough.Layout.Definition;
        _bars = [.. definition.Bars.OrderBy(b => b.Index)];
        if (slot.Line(definition.InterruptPin) is { } gsi)
        {
            passthrough.ConnectIntx(gsi);
        }

        var wiring = slot.Wiring(0, definition, index => new BarPlacement(this, index), vector => new MsixVector(passthrough, vector))
            with { ConfigWritten = OnConfigWritten };
        var restored = context.Restore<VfioPciState>()?.Function;
        _function = new PciFunction(definition, wiring, restored);
        lock (_function.Sync)
        {
            SyncInterrupts();
            if (restored is null)
            {
                programFirmware?.Invoke(_function);
            }
        }

        slot.Attach(0, _function);
    }

    /// <summary>An incarnation on the platform's PCI bus (region i = BAR <see cref="PciDeviceContext.RegionBars"/>[i], BARs assigned at power-on).</summary>
    public static VfioPciDevice Create(VfioPciPassthrough passthrough, PciDeviceContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new VfioPciDevice(context.Device.DeviceName, passthrough, context.Slot, context.Device, context.ProgramFirmwareBars);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>One region per BAR in register-index order, where the BAR decodes now (address 0, disabled, while it does not).</summary>
    public IReadOnlyList<DeviceRegion> Regions => [.. _bars.Select(b =>
    {
        var placement = _function.Placement(b.Index);
        return new DeviceRegion(b.Bus, placement.Address, b.Size, Enabled: placement.Enabled);
    })];

    /// <summary>The virtual function the guest configures.</summary>
    public PciFunction Function => _function;

    /// <inheritdoc />
    public void HandleTrap(int region, TrapAccess access)
    {
        var bar = _bars[region];
        if (_function.TryHandleMsixAccess(bar.Index, access))
        {
            return;
        }

        var info = _passthrough.Layout.BarRegions[bar.Index];
        if (access.Offset >= info.Size || (ulong)access.Length > info.Size - access.Offset)
        {
            // Past the device's region (the BAR was rounded up to a power of two): reads float high, writes go nowhere.
            if (!access.IsWrite)
            {
                access.Data.Fill(PciBus.NoResponseByte);
            }

            return;
        }

        if (access.IsWrite)
        {
            _passthrough.Device.Write(info, access.Offset, access.Data);
        }
        else
        {
            _passthrough.Device.Read(info, access.Offset, access.Data);
        }
    }

    /// <inheritdoc />
    public void Reset()
    {
        lock (_function.Sync)
        {
            _function.Reset();
            MirrorCommand();
            SyncInterrupts();
        }
    }

    /// <inheritdoc />
    public DeviceState CaptureState() => new VfioPciState(_function.CaptureState());

    /// <inheritdoc />
    public object? OnSlowPath(object message)
    {
        if (message is not VfioPciProtocol.ResetDevice)
        {
            return DeviceSignals.NotUnderstood.Instance;
        }

        bool deviceReset = _passthrough.Device.Info.CanReset;
        if (deviceReset)
        {
            _passthrough.Device.Reset();
        }

        Reset();
        return new VfioPciProtocol.ResetDone(deviceReset);
    }

    // Under the function's lock, after the write was applied to the virtual configuration space.
    private void OnConfigWritten(int offset, int size)
    {
        if (offset < PciHeader.Command + sizeof(ushort) && offset + size > PciHeader.Command)
        {
            MirrorCommand();
        }

        SyncInterrupts();
    }

    private void MirrorCommand()
    {
        var config = _passthrough.Layout.ConfigRegion;
        Span<byte> physical = stackalloc byte[sizeof(ushort)];
        _passthrough.Device.Read(config, PciHeader.Command, physical);
        ushort value = BinaryPrimitives.ReadUInt16LittleEndian(physical);
        value = (ushort)((value & ~(ushort)MirroredCommandBits) | (ushort)(_function.Command & MirroredCommandBits));
        BinaryPrimitives.WriteUInt16LittleEndian(physical, value);
        _passthrough.Device.Write(config, PciHeader.Command, physical);
    }

    // Brings VFIO's interrupts in line with the virtual capabilities (a no-op when nothing changed). vfio-pci takes one
    // interrupt type at a time: INTx is turned off before MSI or MSI-X is armed, and back on once neither is.
    private void SyncInterrupts()
    {
        SyncMsi();
        bool msix = _function.MsixEnabled;
        if (msix != _passthrough.AppliedMsix)
        {
            if (msix)
            {
                _passthrough.DisarmIntx();
                _passthrough.Device.SetIrqTriggers(VFIO_PCI_MSIX_IRQ_INDEX, 0, _passthrough.MsixEventFds());
            }
            else
            {
                _passthrough.Device.DisableIrqs(VFIO_PCI_MSIX_IRQ_INDEX);
            }

            _passthrough.AppliedMsix = msix;
        }

        if (!_passthrough.AppliedMsix && !_passthrough.AppliedMsi.Enabled)
        {
            _passthrough.ArmIntx();
        }
    }

    private void SyncMsi()
    {
        if (_passthrough.Layout.Msi is not { } shape)
        {
            return;
        }

        int at = _passthrough.Layout.MsiOffset;
        ushort control = (ushort)_function.ReadConfig(at + MsiRegisters.MessageControl, sizeof(ushort));
        int granted = 1 << ((control & MsiRegisters.MultipleMessageEnableMask) >> MsiRegisters.MultipleMessageEnableShift);
        ulong address = _function.ReadConfig(at + MsiRegisters.AddressLow, sizeof(uint));
        if (shape.Is64Bit)
        {
            address |= (ulong)_function.ReadConfig(at + MsiRegisters.AddressHigh, sizeof(uint)) << 32;
        }

        uint data = _function.ReadConfig(at + shape.DataOffset, sizeof(ushort));
        bool enabled = (control & MsiRegisters.Enable) != 0;
        var wanted = enabled ? new VfioMsiSettings(true, Math.Min(granted, shape.Vectors), address, data) : VfioMsiSettings.Off;
        var applied = _passthrough.AppliedMsi;
        if (wanted == applied)
        {
            return;
        }

        if (!wanted.Enabled)
        {
            _passthrough.Device.DisableIrqs(VFIO_PCI_MSI_IRQ_INDEX);
            _passthrough.AppliedMsi = VfioMsiSettings.Off;
            return;
        }

        // Multiple-message MSI: vector i sends the data with its low bits replaced by i.
        var routes = _passthrough.MsiRoutes(wanted.Vectors);
        for (int i = 0; i < routes.Count; i++)
        {
            routes[i].Update(new MsiMessage(address, (data & ~(uint)(wanted.Vectors - 1)) | (uint)i));
        }

        if (!applied.Enabled || applied.Vectors != wanted.Vectors)
        {
            if (applied.Enabled)
            {
                _passthrough.Device.DisableIrqs(VFIO_PCI_MSI_IRQ_INDEX);
            }

            _passthrough.DisarmIntx();
            _passthrough.Device.SetIrqTriggers(VFIO_PCI_MSI_IRQ_INDEX, 0, [.. routes.Select(r => r.EventFd)]);
        }

        _passthrough.AppliedMsi = wanted;
    }

    /// <summary>One BAR's placement: its trap region (when granted) and its memory slots follow together.</summary>
    private sealed class BarPlacement(VfioPciDevice owner, int index) : IBarPlacement
    {
        public void Place(ulong baseAddress, bool enabled)
        {
            int region = Array.FindIndex(owner._bars, b => b.Index == index);
            if (owner._context.Regions.IsGranted)
            {
                owner._context.Regions[region].Place(baseAddress, enabled);
            }

            owner._passthrough.PlaceBar(index, baseAddress, enabled);
        }
    }

    /// <summary>
    /// An MSI-X vector: its message is its route's message (a KVM GSI route the VFIO eventfd raises), and its mask is the
    /// route's (the device signals the eventfd itself, so a masked vector's route is detached until unmasked).
    /// </summary>
    private sealed class MsixVector(VfioPciPassthrough passthrough, int vector) : IMsiVector
    {
        public void Update(ulong address, uint data) => passthrough.MsixRoute(vector, default).Update(new MsiMessage(address, data));

        public void Trigger() => passthrough.MsixRoute(vector, default).Trigger();

        public void SetMasked(bool masked) => passthrough.MsixRoute(vector, default).SetMasked(masked);
    }
}
