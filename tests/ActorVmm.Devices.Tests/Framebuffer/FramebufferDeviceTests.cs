using ActorVmm.Devices.Framebuffer;
using ActorVmm.Devices.Pci;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Memory;

namespace ActorVmm.Devices.Tests.Framebuffer;

public sealed class FramebufferDeviceTests : IDisposable
{
    private const ulong Ram = 64UL << 20;
    private const uint Orange = 0x00FF_8000;
    private const int BarRegister = PciHeader.Bar0 + (FramebufferDevice.FrameBar * PciHeader.BarSize);

    private static readonly FramebufferMode Mode = FramebufferMode.Default;

    private readonly GuestMemory _memory = GuestMemory.Create(MemoryMap.X86.Layout(Ram));
    private readonly DeviceRam _frame;

    public FramebufferDeviceTests() => _frame = _memory.CreateDeviceRam(FramebufferDevice.DeviceName, Mode.BarSize);

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

        var rebuilt = new FramebufferDevice(Mode, _frame, X86MemoryMap.FramebufferBase, Assert.IsType<FramebufferState>(state));

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
    public void Memory_of_the_wrong_size_or_a_misaligned_window_is_refused()
    {
        var small = _memory.CreateDeviceRam("small", FramebufferMode.MinBarSize);

        Assert.Throws<ArgumentException>(() => new FramebufferDevice(Mode, small, X86MemoryMap.FramebufferBase));
        Assert.Throws<ArgumentException>(() => new FramebufferDevice(Mode, _frame, X86MemoryMap.FramebufferBase + FramebufferMode.MinBarSize));
    }

    private FramebufferDevice NewDevice() => new(Mode, _frame, X86MemoryMap.FramebufferBase);
}
