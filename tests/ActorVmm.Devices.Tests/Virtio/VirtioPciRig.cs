using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Pci.Msix;
using ActorVmm.Devices.Tests.Pci;
using ActorVmm.Devices.Tests.Support;
using ActorVmm.Devices.Virtio;
using ActorVmm.Devices.Virtio.Pci;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Traps;
using ActorVmm.TestSupport;
using ActorVmm.TestSupport.Virtio;

namespace ActorVmm.Devices.Tests.Virtio;

/// <summary>
/// One virtio-pci device on the x86 platform's PCI bus without a VM: the host bridge and the device built from the
/// definitions <see cref="PciMachine"/> makes (as the platform does), registered on a real trap table and granted their
/// region controls as the supervisor does, real guest RAM, a doorbell table, recording INTx sources and MSI routes.
/// The helpers speak to it as a driver does: configuration cycles through 0xCF8/0xCFC and accesses to the BAR.
/// </summary>
internal sealed class VirtioPciRig : IDisposable
{
    public const string DeviceName = "virtio0";

    private static readonly MemoryLayout Layout = MemoryMap.X86.Layout(VirtioRigs.Ram);
    private readonly Func<DeviceContext, IVirtioDeviceModel> _createModel;
    private readonly DeviceDefinition _definition;
    private readonly DeviceRegionControls _regions = new();
    private readonly DeviceDoorbells _doorbells;
    private readonly DeviceEnvironment _environment;

    public VirtioPciRig(VirtioDeviceType type, Func<DeviceContext, IVirtioDeviceModel> createModel)
    {
        _createModel = createModel;
        Memory = GuestMemory.Create(VirtioRigs.Ram);
        Dma = new GuestDma(Memory);
        _environment = new DeviceEnvironment("virtio-pci-test", (irq, _) => new IrqLineProbe(irq), TimeProvider.System, NullGuestOutput.Instance, new RecordingPowerRequests(), Dma, Doorbells: DoorbellTable);
        _doorbells = new DeviceDoorbells(DoorbellTable);
        var machine = new PciMachine(PciConfigWindows.For(MemoryMap.X86), PciBarWindows.X86(Layout), new PciIntxRouting(PciIntxRouting.X86IoApicGsis, Intx.Connect), CreateRoute);
        var bridge = machine.HostBridge();
        _definition = machine.Add(VirtioPciDevice.Definition(new VirtioDeviceSpec(DeviceName, type, createModel)));
        Address = machine.Planned.Single().Address;
        Bus = new DeviceBus();
        Bus.Attach(bridge.Factory(new DeviceContext(bridge.Name, _environment, Mailbox, new GuestInputQueue())));
        Device = (VirtioPciDevice)_definition.Factory(Context(state: null));
        Bus.Attach(Device, _regions);
    }

    public GuestMemory Memory { get; }

    public GuestDma Dma { get; }

    public DoorbellTable DoorbellTable { get; } = new();

    public SlowPathMailbox Mailbox { get; } = new();

    public RecordingIntxLines Intx { get; } = new();

    /// <summary>One MSI route per MSI-X vector, in vector order (created as the function wires them).</summary>
    public List<RecordingRoute> Routes { get; } = [];

    public DeviceBus Bus { get; }

    public PciAddress Address { get; }

    public VirtioPciDevice Device { get; private set; }

    /// <summary>Where the virtio BAR decodes, read from its registers as a driver does.</summary>
    public ulong BarBase => (ConfigRead(Bar(VirtioPciLayout.Bar), sizeof(uint)) & PciBarBits.MemoryAddressMask) | ((ulong)ConfigRead(Bar(VirtioPciLayout.Bar + 1), sizeof(uint)) << 32);

    /// <summary>The level of the device's INTx line.</summary>
    public bool IntxLevel => Intx.Sources.Single().Level;

    public static int Bar(int index) => PciDeviceContext.BarRegister(index);

    public uint ConfigRead(int register, int size)
    {
        Bus.Write(TrapBus.Pio, PciHostBridgeDevice.ConfigAddressPort, sizeof(uint), PciConfigAddress.For(Address, register & ~3).Value);
        return (uint)Bus.Read(TrapBus.Pio, PciHostBridgeDevice.ConfigDataPort + (ulong)(register & 3), size);
    }

    public void ConfigWrite(int register, int size, uint value)
    {
        Bus.Write(TrapBus.Pio, PciHostBridgeDevice.ConfigAddressPort, sizeof(uint), PciConfigAddress.For(Address, register & ~3).Value);
        Bus.Write(TrapBus.Pio, PciHostBridgeDevice.ConfigDataPort + (ulong)(register & 3), size, value);
    }

    public ulong Read(ulong offset, int size)
    {
        ulong value = Bus.Read(TrapBus.Mmio, BarBase + offset, size);
        Assert.NotEqual(DispatchOutcome.Faulted, Bus.LastOutcome);
        return value;
    }

    public void Write(ulong offset, int size, ulong value)
    {
        Assert.NotEqual(DispatchOutcome.Faulted, Bus.Write(TrapBus.Mmio, BarBase + offset, size, value));
    }

    public ulong Common(int field, int size) => Read(VirtioPciLayout.CommonCfgOffset + (ulong)field, size);

    public void Common(int field, int size, ulong value) => Write(VirtioPciLayout.CommonCfgOffset + (ulong)field, size, value);

    /// <summary>
    /// Walks the capabilities list from the capabilities pointer as Linux's virtio_pci_modern does: every vendor-specific
    /// capability by cfg_type (the first of each), with the MSI-X capability under its own ID.
    /// </summary>
    public Dictionary<byte, int> Capabilities()
    {
        var found = new Dictionary<byte, int>();
        Assert.NotEqual(0u, ConfigRead(PciHeader.Status, sizeof(ushort)) & (uint)PciStatus.CapabilitiesList);
        int seen = 0;
        for (int at = (int)ConfigRead(PciHeader.CapabilitiesPointer, sizeof(byte)); at != 0; at = (int)ConfigRead(at + PciCapability.NextPointer, sizeof(byte)))
        {
            Assert.True(++seen < PciHeader.ConfigSpaceSize / sizeof(uint), "the capabilities list loops");
            byte id = (byte)ConfigRead(at, sizeof(byte));
            byte key = id == PciCapabilityId.VendorSpecific ? (byte)ConfigRead(at + VirtioPciRegisters.CapCfgType, sizeof(byte)) : id;
            found.TryAdd(key, at);
        }

        return found;
    }

    /// <summary>Goes through ACKNOWLEDGE, DRIVER and FEATURES_OK with <paramref name="features"/>, sets up queues 0.. with one ring each, then DRIVER_OK.</summary>
    public DriverQueue[] Start(ulong features = VirtioRigs.RingFeatures, int queues = 1)
    {
        Common(VirtioPciRegisters.DeviceStatus, sizeof(byte), 0);
        Common(VirtioPciRegisters.DeviceStatus, sizeof(byte), VirtioStatus.Acknowledge | VirtioStatus.Driver);
        for (uint word = 0; word < 2; word++)
        {
            Common(VirtioPciRegisters.DriverFeatureSelect, sizeof(uint), word);
            Common(VirtioPciRegisters.DriverFeature, sizeof(uint), (uint)(features >> (32 * (int)word)));
        }

        Common(VirtioPciRegisters.DeviceStatus, sizeof(byte), VirtioStatus.Acknowledge | VirtioStatus.Driver | VirtioStatus.FeaturesOk);
        Assert.NotEqual(0ul, Common(VirtioPciRegisters.DeviceStatus, sizeof(byte)) & VirtioStatus.FeaturesOk);
        var arena = new GuestArena(VirtioRigs.RingArea, VirtioRigs.Buffers);
        var rings = new DriverQueue[queues];
        for (int q = 0; q < queues; q++)
        {
            rings[q] = DriverQueue.Allocate(Dma, arena, VirtioRigs.QueueSize);
            Common(VirtioPciRegisters.QueueSelect, sizeof(ushort), (ulong)q);
            Common(VirtioPciRegisters.QueueSize, sizeof(ushort), VirtioRigs.QueueSize);
            Common(VirtioPciRegisters.QueueDesc, sizeof(ulong), rings[q].DescriptorTable);
            Common(VirtioPciRegisters.QueueDriver, sizeof(ulong), rings[q].AvailableRing);
            Common(VirtioPciRegisters.QueueDevice, sizeof(ulong), rings[q].UsedRing);
            Common(VirtioPciRegisters.QueueEnable, sizeof(ushort), 1);
        }

        Common(VirtioPciRegisters.DeviceStatus, sizeof(byte), VirtioStatus.Acknowledge | VirtioStatus.Driver | VirtioStatus.FeaturesOk | VirtioStatus.DriverOk);
        return rings;
    }

    /// <summary>Turns MSI-X on and programs vector <paramref name="vector"/> with <paramref name="data"/> (unmasked).</summary>
    public void EnableMsix(int vector, uint data)
    {
        ulong entry = VirtioPciLayout.MsixTableOffset + (ulong)(vector * MsixRegisters.EntrySize);
        Write(entry + MsixRegisters.EntryAddressLow, sizeof(uint), MsiMessage.AddressBase);
        Write(entry + MsixRegisters.EntryAddressHigh, sizeof(uint), 0);
        Write(entry + MsixRegisters.EntryData, sizeof(uint), data);
        Write(entry + MsixRegisters.EntryVectorControl, sizeof(uint), 0);
        int capability = Capabilities()[PciCapabilityId.MsiX];
        ConfigWrite(capability + MsixRegisters.MessageControl, sizeof(ushort), MsixRegisters.Enable);
    }

    /// <summary>Notifies queue <paramref name="queue"/> at its notify address (a 16-bit write of its index, through the trap handler).</summary>
    public void Notify(int queue)
    {
        uint notifyOff = (uint)Common(VirtioPciRegisters.QueueNotifyOff, sizeof(ushort));
        Write(VirtioPciLayout.NotifyOffset + (notifyOff * VirtioPciLayout.NotifyOffMultiplier), VirtioPciRegisters.NotifyWidth, (ulong)queue);
    }

    public int RunSlowPath() => Mailbox.RunPending(Device);

    /// <summary>The next incarnation, built from <paramref name="state"/> as the supervisor rebuilds a failed device.</summary>
    public VirtioPciDevice Rebuild(DeviceState? state)
    {
        Device = (VirtioPciDevice)_definition.Factory(Context(state));
        return Device;
    }

    public void Dispose()
    {
        _doorbells.Dispose();
        Memory.Dispose();
    }

    private DeviceContext Context(DeviceState? state) => new(DeviceName, _environment, Mailbox, new GuestInputQueue(), state, _regions, _doorbells);

    private IMsiRoute CreateRoute(MsiMessage message)
    {
        var route = new RecordingRoute(message);
        Routes.Add(route);
        return route;
    }

    /// <summary>An MSI route that records what it delivered.</summary>
    internal sealed class RecordingRoute(MsiMessage message) : IMsiRoute
    {
        public MsiMessage Message { get; private set; } = message;

        public List<MsiMessage> Delivered { get; } = [];

        public void Update(MsiMessage message) => Message = message;

        public void Trigger() => Delivered.Add(Message);

        public void Dispose()
        {
        }
    }
}
