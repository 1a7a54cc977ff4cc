namespace ActorVmm.Devices.Pci;

/// <summary>
/// PCI bus 0 as configuration software sees it: 32 device numbers with up to 8 functions each, the host bridge at
/// 00:00.0, and named slots the platform hands out on stable device numbers. Both configuration mechanisms (0xCF8/0xCFC
/// and ECAM) end here. Other buses, absent devices and absent functions read all ones; writes to them are dropped.
/// One bus per boot generation; it outlives the devices' incarnations (see <see cref="PciSlot"/>).
/// </summary>
public sealed class PciBus
{
    /// <summary>Name of the host bridge's slot (device 0).</summary>
    public const string HostBridgeSlotName = "host-bridge";

    private readonly PciSlot?[] _slots = new PciSlot?[PciAddress.DevicesPerBus];
    private readonly PciIntxRouting? _intx;
    private readonly Lock _lock = new();

    /// <summary>Creates bus 0 with its host bridge; <paramref name="intx"/> routes INTx (null: no PCI INTx).</summary>
    public PciBus(PciIntxRouting? intx = null)
    {
        _intx = intx;
        HostBridge = new PciFunction(PciHostBridge.Definition, PciFunctionWiring.None);
        AddSlot(HostBridgeSlotName, 0).Attach(0, HostBridge);
    }

    /// <summary>The host bridge function, 00:00.0.</summary>
    public PciFunction HostBridge { get; }

    /// <summary>The INTx routing, or null.</summary>
    public PciIntxRouting? IntxRouting => _intx;

    /// <summary>The slots in device-number order.</summary>
    public IReadOnlyList<PciSlot> Slots
    {
        get
        {
            lock (_lock)
            {
                return [.. _slots.OfType<PciSlot>()];
            }
        }
    }

    /// <summary>Gives <paramref name="name"/> a device number: <paramref name="device"/> if named, else the lowest free one.</summary>
    /// <exception cref="ArgumentException">The name is taken or invalid, or the number is taken.</exception>
    /// <exception cref="InvalidOperationException">All 32 device numbers are used.</exception>
    public PciSlot AddSlot(string name, int? device = null)
    {
        if (!DeviceDefinition.IsValidName(name))
        {
            throw new ArgumentException($"'{name}' is not a valid slot name", nameof(name));
        }

        lock (_lock)
        {
            if (_slots.Any(s => s?.Name == name))
            {
                throw new ArgumentException($"PCI slot '{name}' already exists", nameof(name));
            }

            int number = device ?? Array.FindIndex(_slots, s => s is null);
            if (number < 0)
            {
                throw new InvalidOperationException($"bus 0 has no free device number for '{name}'");
            }

            _ = new PciAddress(0, number, 0);
            if (_slots[number] is { } taken)
            {
                throw new ArgumentException($"device number {number} is already slot '{taken.Name}'", nameof(device));
            }

            var slot = new PciSlot(name, number, _intx);
            Volatile.Write(ref _slots[number], slot);
            return slot;
        }
    }

    /// <summary>The slot named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such slot.</exception>
    public PciSlot Slot(string name) => Slots.FirstOrDefault(s => s.Name == name) ?? throw new KeyNotFoundException($"no PCI slot named '{name}'");

    /// <summary>The function at <paramref name="address"/>, or null when absent.</summary>
    public PciFunction? Find(PciAddress address) =>
        address.Bus == 0 ? Volatile.Read(ref _slots[address.Device])?.Function(address.Function) : null;

    /// <summary>A configuration read: 1, 2 or 4 bytes at <paramref name="register"/> (0–4095); all ones when nothing answers.</summary>
    public uint ReadConfig(PciAddress address, int register, int size) =>
        Find(address) is { } function ? function.ReadConfig(register, size) : AllOnes(size);

    /// <summary>A configuration write; dropped when nothing answers.</summary>
    public void WriteConfig(PciAddress address, int register, int size, uint value) => Find(address)?.WriteConfig(register, size, value);

    /// <summary>One lspci-like line per present function (BDF, class, IDs, interrupt, BARs), for logs and <c>stat</c>.</summary>
    public IReadOnlyList<string> Describe()
    {
        var lines = new List<string>();
        foreach (var slot in Slots)
        {
            for (int f = 0; f < PciAddress.FunctionsPerDevice; f++)
            {
                if (slot.Function(f) is { } function)
                {
                    lines.Add(PciDescription.Describe(slot.Address(f), slot.Name, function));
                }
            }
        }

        return lines;
    }

    /// <summary>Each byte of an access nobody claims reads as this (a master abort: all ones).</summary>
    public const byte NoResponseByte = byte.MaxValue;

    /// <summary>What an access nobody claims returns: all ones in the access size (a master abort).</summary>
    public static uint AllOnes(int size) => size >= 4 ? uint.MaxValue : (1u << (8 * size)) - 1;
}
