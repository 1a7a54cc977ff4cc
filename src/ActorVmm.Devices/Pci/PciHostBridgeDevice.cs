using ActorVmm.Machine.Traps;

namespace ActorVmm.Devices.Pci;

/// <summary>
/// The configuration access paths of <see cref="PciBus"/> on the trap bus: mechanism #1 at ports 0xCF8–0xCFF and an
/// ECAM window, both served by the same bus code. Only CONFIG_ADDRESS is state of its own; configuration cycles
/// take the addressed function's lock, never one of this device's, so vCPUs configuring different functions do not
/// contend. What the PC chipset decodes:
/// <list type="bullet">
/// <item>0xCF8 as a dword: CONFIG_ADDRESS, read back as written. Byte and word accesses to 0xCF8–0xCFB are not config
/// cycles: they pass on as ordinary I/O that nothing here claims (reads all ones, writes dropped, the latch keeps its
/// value), as on PIIX/ICH where such cycles reach other devices (0xCF9 would be the reset control register).</item>
/// <item>0xCFC–0xCFF: with the enable bit set, a 1/2/4-byte configuration access at the latched register plus the port's
/// lane; enable clear: reads all ones, writes dropped. An access straddling the ports' end or the 0xCFB/0xCFC boundary
/// is taken byte by byte with the same rules.</item>
/// <item>ECAM: a 1/2/4-byte access at natural alignment is one configuration access; a wider (8-byte) or unaligned
/// access is not one PCIe configuration request can carry: reads all ones, writes dropped.</item>
/// </list>
/// </summary>
public sealed class PciHostBridgeDevice : IDevice, IDeviceDetails
{
    /// <summary>The device's name.</summary>
    public const string DeviceName = "pci";

    /// <summary>CONFIG_ADDRESS.</summary>
    public const ulong ConfigAddressPort = 0xCF8;

    /// <summary>CONFIG_DATA, lanes 0xCFC–0xCFF.</summary>
    public const ulong ConfigDataPort = 0xCFC;

    /// <summary>Ports decoded from <see cref="ConfigAddressPort"/>.</summary>
    public const int PortCount = 8;

    private const int DataOffset = (int)(ConfigDataPort - ConfigAddressPort);
    private const int DwordSize = 4;

    private readonly PciBus _bus;
    private readonly bool[] _isEcam;
    private readonly Lock _lock = new();
    private uint _configAddress;

    /// <summary>Creates the access paths of <paramref name="bus"/> on <paramref name="windows"/>, optionally with a restored latch.</summary>
    public PciHostBridgeDevice(PciBus bus, PciConfigWindows windows, PciHostBridgeState? restored = null)
    {
        ArgumentNullException.ThrowIfNull(bus);
        ArgumentNullException.ThrowIfNull(windows);
        windows.Validate();
        restored?.Validate();
        _bus = bus;
        _configAddress = restored?.ConfigAddress ?? 0;
        var regions = new List<DeviceRegion>();
        var ecam = new List<bool>();
        if (windows.PortIo)
        {
            regions.Add(new DeviceRegion(TrapBus.Pio, ConfigAddressPort, PortCount));
            ecam.Add(false);
        }

        if (windows.HasEcam)
        {
            regions.Add(new DeviceRegion(TrapBus.Mmio, windows.EcamBase, windows.EcamSize));
            ecam.Add(true);
        }

        Regions = regions;
        _isEcam = [.. ecam];
    }

    /// <inheritdoc />
    public string Name => DeviceName;

    /// <inheritdoc />
    public IReadOnlyList<DeviceRegion> Regions { get; }

    /// <summary>The bus the paths lead to.</summary>
    public PciBus Bus => _bus;

    /// <inheritdoc />
    public void HandleTrap(int region, TrapAccess access)
    {
        if ((uint)region >= (uint)_isEcam.Length)
        {
            FillAllOnes(access);
        }
        else if (_isEcam[region])
        {
            HandleEcam(access);
        }
        else
        {
            HandlePorts(access);
        }
    }

    /// <inheritdoc />
    public void Reset()
    {
        lock (_lock)
        {
            _configAddress = 0;
        }

        _bus.HostBridge.Reset();
    }

    /// <summary>One lspci-like line per function on the bus, with each BAR where it decodes now.</summary>
    public IReadOnlyList<string> Details() => _bus.Describe();

    /// <inheritdoc />
    public DeviceState CaptureState()
    {
        lock (_lock)
        {
            return new PciHostBridgeState(_configAddress);
        }
    }

    private static bool IsConfigSize(int size) => size is 1 or 2 or 4;

    private static void FillAllOnes(TrapAccess access)
    {
        if (!access.IsWrite)
        {
            access.Data.Fill(PciBus.NoResponseByte);
        }
    }

    private void HandleEcam(TrapAccess access)
    {
        int size = access.Length;
        if (!IsConfigSize(size) || access.Offset % (ulong)size != 0)
        {
            FillAllOnes(access);
            return;
        }

        var (function, register) = PciEcam.Decode(access.Offset);
        if (access.IsWrite)
        {
            _bus.WriteConfig(function, register, size, (uint)access.Value);
        }
        else
        {
            access.SetValue(_bus.ReadConfig(function, register, size));
        }
    }

    private void HandlePorts(TrapAccess access)
    {
        int offset = (int)Math.Min(access.Offset, PortCount);
        int size = access.Length;
        if (offset == 0 && size == DwordSize)
        {
            lock (_lock)
            {
                if (access.IsWrite)
                {
                    _configAddress = (uint)access.Value;
                }
                else
                {
                    access.SetValue(_configAddress);
                }
            }
        }
        else if (offset >= DataOffset && offset + size <= PortCount && IsConfigSize(size))
        {
            DataCycle(offset - DataOffset, access.Data, access.IsWrite);
        }
        else
        {
            // Straddling or odd-sized: each byte on its own, with the same rules.
            for (int i = 0; i < size; i++)
            {
                int port = offset + i;
                Span<byte> one = access.Data.Slice(i, 1);
                if (port >= DataOffset && port < PortCount)
                {
                    DataCycle(port - DataOffset, one, access.IsWrite);
                }
                else if (!access.IsWrite)
                {
                    one[0] = PciBus.NoResponseByte;
                }
            }
        }
    }

    private void DataCycle(int lane, Span<byte> data, bool isWrite)
    {
        PciConfigAddress address;
        lock (_lock)
        {
            address = new PciConfigAddress(_configAddress);
        }

        if (!address.Enabled)
        {
            if (!isWrite)
            {
                data.Fill(PciBus.NoResponseByte);
            }

            return;
        }

        // Register (0..252) + lane (0..3) + size (1..4, lane + size <= 4) stays inside the 256 bytes.
        int register = address.Register + lane;
        if (isWrite)
        {
            _bus.WriteConfig(address.Function, register, data.Length, (uint)TrapAccess.ReadLittleEndian(data));
        }
        else
        {
            TrapAccess.WriteLittleEndian(data, _bus.ReadConfig(address.Function, register, data.Length));
        }
    }
}
