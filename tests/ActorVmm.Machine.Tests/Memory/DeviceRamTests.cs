using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Memory;

namespace ActorVmm.Machine.Tests.Memory;

public sealed class DeviceRamTests
{
    private const ulong Page = GuestMemoryRegion.PageSize;
    private const ulong Ram = 64UL << 20;
    private const ulong FramebufferBytes = 2UL << 20;
    private const uint Pixel = 0x00FF_8000;

    [Fact]
    public void Device_RAM_is_not_guest_RAM_until_placed_then_reads_and_writes_through_its_guest_address()
    {
        using var memory = GuestMemory.Create(MemoryMap.X86.Layout(Ram));
        var framebuffer = memory.CreateDeviceRam("vesa", FramebufferBytes);
        Assert.False(memory.IsRam(X86MemoryMap.FramebufferBase, 4));
        Assert.Null(framebuffer.GuestAddress);

        Assert.True(framebuffer.Place(X86MemoryMap.FramebufferBase, enabled: true));
        memory.Write(X86MemoryMap.FramebufferBase + 8, Pixel);

        Assert.Equal(X86MemoryMap.FramebufferBase, framebuffer.GuestAddress);
        Assert.True(memory.TryTranslate(X86MemoryMap.FramebufferBase, FramebufferBytes, out _));
        Span<byte> read = stackalloc byte[4];
        framebuffer.Read(8, read);
        Assert.Equal(Pixel, BitConverter.ToUInt32(read));
    }

    [Fact]
    public void A_moved_device_RAM_keeps_its_bytes_and_leaves_its_old_address()
    {
        using var memory = GuestMemory.Create(MemoryMap.X86.Layout(Ram));
        var framebuffer = memory.CreateDeviceRam("vesa", FramebufferBytes);
        framebuffer.Place(X86MemoryMap.FramebufferBase, enabled: true);
        memory.Write(X86MemoryMap.FramebufferBase, Pixel);
        ulong moved = X86MemoryMap.PciMmioBase;

        Assert.True(framebuffer.Place(moved, enabled: true));

        Assert.False(memory.IsRam(X86MemoryMap.FramebufferBase, 4));
        Assert.Equal(Pixel, memory.Read<uint>(moved));
        Assert.Single(memory.Regions, r => r.Device == framebuffer);
    }

    [Fact]
    public void Disabling_takes_it_out_of_guest_space_and_enabling_brings_the_same_bytes_back()
    {
        using var memory = GuestMemory.Create(MemoryMap.X86.Layout(Ram));
        var framebuffer = memory.CreateDeviceRam("vesa", FramebufferBytes);
        framebuffer.Place(X86MemoryMap.FramebufferBase, enabled: true);
        memory.Write(X86MemoryMap.FramebufferBase, Pixel);

        Assert.True(framebuffer.Place(X86MemoryMap.FramebufferBase, enabled: false));
        Assert.False(memory.IsRam(X86MemoryMap.FramebufferBase, 4));
        Assert.True(framebuffer.Place(X86MemoryMap.FramebufferBase, enabled: true));

        Assert.Equal(Pixel, memory.Read<uint>(X86MemoryMap.FramebufferBase));
    }

    [Theory]
    [InlineData(0x10_0000UL)]
    [InlineData(Ram - Page)]
    [InlineData(X86MemoryMap.FramebufferBase + 1)]
    [InlineData(ulong.MaxValue - Page + 1)]
    public void A_placement_over_RAM_unaligned_or_wrapping_is_refused_and_leaves_it_unmapped(ulong address)
    {
        using var memory = GuestMemory.Create(MemoryMap.X86.Layout(Ram));
        var framebuffer = memory.CreateDeviceRam("vesa", FramebufferBytes);
        framebuffer.Place(X86MemoryMap.FramebufferBase, enabled: true);
        memory.Write(0x10_0000UL, Pixel);

        Assert.False(framebuffer.Place(address, enabled: true));

        Assert.Null(framebuffer.GuestAddress);
        Assert.Equal(Pixel, memory.Read<uint>(0x10_0000UL));
        Assert.Equal(memory.Regions.Count(r => r.Device is null), memory.Regions.Count);
    }

    [Fact]
    public void Two_device_RAMs_cannot_overlap_and_take_slots_after_the_RAM_slots()
    {
        var layout = MemoryMap.X86.Layout(8UL << 30);
        using var memory = GuestMemory.Create(layout);
        var first = memory.CreateDeviceRam("first", FramebufferBytes);
        var second = memory.CreateDeviceRam("second", FramebufferBytes);
        Assert.True(first.Place(X86MemoryMap.FramebufferBase, enabled: true));

        Assert.False(second.Place(X86MemoryMap.FramebufferBase + Page, enabled: true));
        Assert.Equal(layout.RamSlots.Count, first.Slot);
        Assert.Equal(layout.RamSlots.Count + 1, second.Slot);
    }

    [Fact]
    public void The_slot_listener_sees_every_map_and_unmap_and_a_refusal_leaves_the_memory_unmapped()
    {
        using var memory = GuestMemory.Create(MemoryMap.X86.Layout(Ram));
        var listener = new RecordingListener();
        memory.SlotListener = listener;
        var framebuffer = memory.CreateDeviceRam("vesa", FramebufferBytes);

        framebuffer.Place(X86MemoryMap.FramebufferBase, enabled: true);
        framebuffer.Place(X86MemoryMap.PciMmioBase, enabled: true);
        listener.Refuse = true;
        bool placed = framebuffer.Place(X86MemoryMap.FramebufferBase, enabled: true);

        Assert.False(placed);
        Assert.Null(framebuffer.GuestAddress);
        Assert.Equal(
            [$"map 0x{X86MemoryMap.FramebufferBase:X}", $"unmap 0x{X86MemoryMap.FramebufferBase:X}", $"map 0x{X86MemoryMap.PciMmioBase:X}", $"unmap 0x{X86MemoryMap.PciMmioBase:X}"],
            listener.Events);
    }

    [Fact]
    public void Host_reads_outside_the_device_RAM_are_refused()
    {
        using var memory = GuestMemory.Create(MemoryMap.X86.Layout(Ram));
        var framebuffer = memory.CreateDeviceRam("vesa", FramebufferBytes);
        byte[] buffer = new byte[8];

        Assert.Throws<ArgumentOutOfRangeException>(() => framebuffer.Read(FramebufferBytes - 4, buffer));
        Assert.Throws<ArgumentOutOfRangeException>(() => framebuffer.Read(ulong.MaxValue - 2, buffer));
        Assert.Throws<ArgumentException>(() => memory.CreateDeviceRam("odd", Page + 1));
    }

    [Fact]
    public void Device_RAM_is_unmapped_with_the_memory_and_refuses_reads_after()
    {
        var memory = GuestMemory.Create(MemoryMap.X86.Layout(Ram));
        var framebuffer = memory.CreateDeviceRam("vesa", FramebufferBytes);
        framebuffer.Place(X86MemoryMap.FramebufferBase, enabled: true);

        memory.Dispose();

        Assert.Throws<GuestMemoryClosedException>(() => framebuffer.Read(0, new byte[4]));
        Assert.False(framebuffer.Place(X86MemoryMap.FramebufferBase, enabled: true));
    }

    private sealed class RecordingListener : IRamSlotListener
    {
        public List<string> Events { get; } = [];

        public bool Refuse { get; set; }

        public void OnMapped(GuestMemoryRegion region)
        {
            if (Refuse)
            {
                throw new InvalidOperationException("refused by the backend");
            }

            Events.Add($"map 0x{region.GuestPhysicalAddress:X}");
        }

        public void OnUnmapped(GuestMemoryRegion region) => Events.Add($"unmap 0x{region.GuestPhysicalAddress:X}");
    }
}
