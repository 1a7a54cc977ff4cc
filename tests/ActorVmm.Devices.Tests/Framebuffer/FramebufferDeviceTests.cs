using ActorVmm.Devices.Framebuffer;
using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Tests.Support;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Memory;

namespace ActorVmm.Devices.Tests.Framebuffer;

/// <summary>
/// The framebuffer as the platform puts it on PCI bus 0 (<see cref="PciMachine"/>): found by its IDs through the bus,
/// its BAR fixed at the framebuffer window at power-on, its device RAM following BAR moves and the decode bit.
/// </summary>
public sealed class FramebufferDeviceTests : IDisposable
{
    private const ulong Ram = 64UL << 20;
    private const uint Orange = 0x00FF_8000;
    private const int BarRegister = PciHeader.Bar0 + (FramebufferDevice.FrameBar * PciHeader.BarSize);

    private static readonly FramebufferMode Mode = FramebufferMode.Default;

    private static readonly MemoryLayout Layout = MemoryMap.X86.Layout(Ram);

    private readonly GuestMemory _memory = GuestMemory.Create(Layout);
    private readonly PciMachine _pci = NewPciMachine();
    private readonly DeviceRam _frame;
    private readonly DeviceDefinition _definition;

    public FramebufferDeviceTests()
    {
        _frame = _memory.CreateDeviceRam(FramebufferDevice.DeviceName, Mode.BarSize);
        _definition = _pci.Add(FramebufferDevice.PciDefinition(Mode, _frame, X86MemoryMap.FramebufferBase));
    }

    private PciAddress Address => _pci.Planned.Single().Address;

    public void Dispose() => _memory.Dispose();

    [Fact]
    public void At_power_on_the_BAR_decodes_at_the_framebuffer_window_and_guest_stores_land_in_the_frame()
    {
        var device = NewDevice();
        int x = 17, y = 9;

        _memory.Write(X86MemoryMap.FramebufferBase + (ulong)((y * Mode.Stride) + (x * FramebufferMode.BytesPerPixel)), Orange);

        Assert.Equal(X86MemoryMap.FramebufferBase, device.FrameAddress);
        Assert.Equal(PciCommand.MemorySpace, device.Function.Command & PciCommand.MemorySpace);
        var frame = device.CaptureFrame();
        Assert.Equal(Orange, frame.PixelAt(x, y));
        Assert.Equal(0u, frame.PixelAt(x + 1, y));
        Assert.Equal((Mode.Width, Mode.Height, Mode.Stride), (frame.Width, frame.Height, frame.Stride));
    }

    [Fact]
    public void The_function_reads_as_kvmtool_s_VESA_display_controller_with_a_prefetchable_BAR_of_the_mode_s_size()
    {
        var device = NewDevice();
        var function = device.Function;
        uint original = function.ReadConfig(BarRegister, PciHeader.BarSize);

        function.WriteConfig(BarRegister, PciHeader.BarSize, PciBarBits.SizingPattern);
        uint sized = function.ReadConfig(BarRegister, PciHeader.BarSize);
        function.WriteConfig(BarRegister, PciHeader.BarSize, original);

        Assert.Equal(FramebufferDevice.VendorId, function.ReadConfig(PciHeader.VendorId, sizeof(ushort)));
        Assert.Equal(FramebufferDevice.PciDeviceId, function.ReadConfig(PciHeader.DeviceId, sizeof(ushort)));
        Assert.Equal(FramebufferDevice.SubsystemId, function.ReadConfig(PciHeader.SubsystemId, sizeof(ushort)));
        Assert.Equal(FramebufferDevice.DisplayClass.BaseClass, function.ReadConfig(PciHeader.BaseClass, 1));
        Assert.Equal(PciBarBits.Prefetchable, sized & ~PciBarBits.MemoryAddressMask);
        Assert.Equal(Mode.BarSize, (ulong)(~(sized & PciBarBits.MemoryAddressMask) + 1));
        Assert.Equal(X86MemoryMap.FramebufferBase, device.FrameAddress);
    }

    [Fact]
    public void A_guest_that_moves_the_BAR_finds_the_same_pixels_at_the_new_address_and_none_at_the_old()
    {
        var device = NewDevice();
        _memory.Write(X86MemoryMap.FramebufferBase, Orange);
        ulong moved = X86MemoryMap.PciMmioBase;

        device.Function.WriteConfig(BarRegister, PciHeader.BarSize, (uint)moved);

        Assert.Equal(moved, device.FrameAddress);
        Assert.Equal(Orange, _memory.Read<uint>(moved));
        Assert.False(_memory.IsRam(X86MemoryMap.FramebufferBase, sizeof(uint)));
    }

    [Fact]
    public void Turning_memory_decode_off_takes_the_frame_out_of_guest_space()
    {
        var device = NewDevice();

        device.Function.WriteConfig(PciHeader.Command, sizeof(ushort), (uint)PciCommand.None);

        Assert.Null(device.FrameAddress);
        Assert.False(_memory.IsRam(X86MemoryMap.FramebufferBase, sizeof(uint)));
    }

    [Fact]
    public void A_BAR_placed_over_RAM_is_refused_and_leaves_RAM_alone()
    {
        var device = NewDevice();
        const ulong InRam = 0x20_0000;
        _memory.Write(InRam, Orange);

        device.Function.WriteConfig(BarRegister, PciHeader.BarSize, (uint)InRam);

        Assert.Null(device.FrameAddress);
        Assert.Equal(1, device.Placement.Refused);
        Assert.Equal(Orange, _memory.Read<uint>(InRam));
    }

    [Fact]
    public void A_rebuilt_device_keeps_the_guest_s_BAR_and_the_pixels()
    {
        var device = NewDevice();
        ulong moved = X86MemoryMap.PciMmioBase;
        device.Function.WriteConfig(BarRegister, PciHeader.BarSize, (uint)moved);
        _memory.Write(moved, Orange);
        var state = device.CaptureState();

        var rebuilt = NewDevice(Assert.IsType<FramebufferState>(state));

        Assert.Equal(moved, rebuilt.FrameAddress);
        var before = ((FramebufferState)state).Function.Config;
        var after = ((FramebufferState)rebuilt.CaptureState()).Function.Config;
        Assert.Equal(Enumerable.Range(0, before.Length).Where(i => before[i] != after[i]).Select(i => $"{i:x2}: {before[i]:x2} -> {after[i]:x2}"), []);
        Assert.Equal(Orange, rebuilt.CaptureFrame().PixelAt(0, 0));
    }

    [Fact]
    public void Reset_puts_the_BAR_back_where_firmware_puts_it()
    {
        var device = NewDevice();
        device.Function.WriteConfig(BarRegister, PciHeader.BarSize, (uint)X86MemoryMap.PciMmioBase);

        device.Reset();

        Assert.Equal(X86MemoryMap.FramebufferBase, device.FrameAddress);
    }

    [Fact]
    public void The_slow_path_answers_a_capture_with_a_frame_and_nothing_else()
    {
        var device = NewDevice();
        _memory.Write(X86MemoryMap.FramebufferBase, Orange);

        var frame = Assert.IsType<FramebufferProtocol.Frame>(device.OnSlowPath(FramebufferProtocol.Capture.Instance));

        Assert.Equal(Orange, frame.PixelAt(0, 0));
        Assert.Same(DeviceSignals.NotUnderstood.Instance, device.OnSlowPath("something else"));
    }

    [Fact]
    public void The_function_is_on_bus_0_and_config_cycles_through_the_bus_find_it_and_move_its_BAR()
    {
        var device = NewDevice();
        _memory.Write(X86MemoryMap.FramebufferBase, Orange);
        ulong moved = X86MemoryMap.PciMmioBase;

        uint ids = _pci.Bus.ReadConfig(Address, PciHeader.VendorId, PciHeader.BarSize);
        uint bar = _pci.Bus.ReadConfig(Address, BarRegister, PciHeader.BarSize);
        _pci.Bus.WriteConfig(Address, BarRegister, PciHeader.BarSize, (uint)moved);

        Assert.Equal(0, Address.Bus);
        Assert.NotEqual(0, Address.Device);
        Assert.Equal(FramebufferDevice.VendorId | ((uint)FramebufferDevice.PciDeviceId << 16), ids);
        Assert.Equal(X86MemoryMap.FramebufferBase, bar & PciBarBits.MemoryAddressMask);
        Assert.Equal(X86MemoryMap.FramebufferBase, _pci.Planned.Single().Bars[FramebufferDevice.FrameBar]);
        Assert.Equal(moved, device.FrameAddress);
        Assert.Equal(Orange, _memory.Read<uint>(moved));
        Assert.Contains(_pci.Bus.Describe(), line => line.StartsWith(Address.ToString(), StringComparison.Ordinal) && line.Contains(FramebufferDevice.DeviceName, StringComparison.Ordinal));
    }

    [Fact]
    public void A_rebuilt_device_answers_config_cycles_in_the_same_slot()
    {
        var device = NewDevice();
        _pci.Bus.WriteConfig(Address, BarRegister, PciHeader.BarSize, (uint)X86MemoryMap.PciMmioBase);

        var rebuilt = NewDevice(Assert.IsType<FramebufferState>(device.CaptureState()));
        _pci.Bus.WriteConfig(Address, PciHeader.Command, sizeof(ushort), (uint)PciCommand.None);

        Assert.Same(rebuilt.Function, _pci.Bus.Find(Address));
        Assert.Null(rebuilt.FrameAddress);
    }

    [Fact]
    public void Memory_of_the_wrong_size_is_refused()
    {
        var small = _memory.CreateDeviceRam("small", FramebufferMode.MinBarSize);
        var pci = NewPciMachine();
        var definition = pci.Add(FramebufferDevice.PciDefinition(Mode, small, X86MemoryMap.FramebufferBase));

        Assert.Throws<ArgumentException>(() => definition.Factory(TestDeviceContext.Create(FramebufferDevice.DeviceName, TimeProvider.System)));
    }

    [Fact]
    public void A_misaligned_power_on_BAR_or_one_inside_a_PCI_window_is_refused()
    {
        Assert.Throws<ArgumentException>(() => FramebufferDevice.PciDefinition(Mode, _frame, X86MemoryMap.FramebufferBase + FramebufferMode.MinBarSize));
        var insideWindow = FramebufferDevice.PciDefinition(Mode, _frame, X86MemoryMap.PciMmioBase);

        var error = Assert.Throws<ArgumentException>(() => NewPciMachine().Add(insideWindow));

        Assert.Contains("outside the PCI windows", error.Message, StringComparison.Ordinal);
    }

    private static PciMachine NewPciMachine() => new(PciConfigWindows.For(Layout.Map), PciBarWindows.X86(Layout), intx: null, msiRoutes: null);

    private FramebufferDevice NewDevice(FramebufferState? restored = null) =>
        Assert.IsType<FramebufferDevice>(_definition.Factory(TestDeviceContext.Create(FramebufferDevice.DeviceName, TimeProvider.System, restored)));
}
