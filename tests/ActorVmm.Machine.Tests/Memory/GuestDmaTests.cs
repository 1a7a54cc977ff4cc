using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Memory;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ActorVmm.Machine.Tests.Memory;

/// <summary>
/// <see cref="GuestDma"/>'s rules against a reference model: a request is served exactly when every byte of it is RAM
/// (crossing only into a slot that follows in guest-physical space, never wrapping), and is otherwise a
/// <see cref="GuestMemoryException"/> that changed nothing.
/// </summary>
public sealed class GuestDmaTests
{
    private const ulong Page = GuestMemoryRegion.PageSize;
    private const ulong TopSlotBase = 0xFFFF_FFFF_FFFF_D000;

    // Slots 0 and 1 follow each other in the guest (not in the host mapping); slot 2 stands alone; slot 3 ends 4 KiB
    // below the top of the address space, so requests near it can wrap.
    private static readonly RamSlot[] Slots =
    [
        new(0, 0, 3 * Page, 5 * Page),
        new(1, 3 * Page, 2 * Page, 0),
        new(2, 0x1_0000, 2 * Page, 2 * Page),
        new(3, TopSlotBase, 2 * Page, 8 * Page),
    ];

    private static readonly ulong[] Edges =
        [0, 3 * Page, 5 * Page, 0x1_0000, 0x1_0000 + (2 * Page), TopSlotBase, TopSlotBase + (2 * Page), ulong.MaxValue];

    private static readonly Gen<ulong> Address = Gen.OneOf(
        from edge in Gen.Elements(Edges) from delta in Gen.Choose(-0x40, 0x40) select unchecked(edge + (ulong)(long)delta),
        from edge in Gen.Elements(Edges) from delta in Gen.Choose(-0x6000, 0x6000) select unchecked(edge + (ulong)(long)delta),
        from high in Gen.Choose(int.MinValue, int.MaxValue) from low in Gen.Choose(int.MinValue, int.MaxValue) select ((ulong)(uint)high << 32) | (uint)low);

    private static readonly Gen<int> Length = Gen.OneOf(Gen.Choose(0, 0x50), Gen.Choose(0, 0x50), Gen.Choose(0, 0x6000));

    private static readonly Gen<Request> Requests =
        from write in Gen.Elements(true, false) from address in Address from length in Length from seed in Gen.Choose(0, int.MaxValue) select new Request(write, address, length, seed);

    public sealed record Request(bool IsWrite, ulong Address, int Length, int Seed);

    [Property(MaxTest = 300)]
    public Property Random_requests_touch_only_RAM_and_fail_with_GuestMemoryException_otherwise() =>
        Prop.ForAll(Arb.From(Gen.ListOf(Requests).Select(r => r.ToArray())), requests => Run(requests));

    [Fact]
    public void Little_endian_helpers_store_the_low_byte_first_and_read_back_what_they_stored()
    {
        using var memory = GuestMemory.Create(Slots);
        var dma = new GuestDma(memory);
        const ulong At = 3 * Page - 3;
        const ulong Value64 = 0x0807_0605_0403_0201;

        dma.WriteUInt64(At, Value64);
        dma.WriteUInt32(0x1_0000, 0xAABB_CCDD);
        dma.WriteUInt16(0x1_0004, 0xEEFF);
        dma.WriteByte(0x1_0006, 0x77);

        byte[] raw = new byte[sizeof(ulong)];
        dma.Read(At, raw);
        Assert.Equal<byte>([1, 2, 3, 4, 5, 6, 7, 8], raw);
        Assert.Equal(Value64, dma.ReadUInt64(At));
        Assert.Equal(0xAABB_CCDDu, dma.ReadUInt32(0x1_0000));
        Assert.Equal((ushort)0xEEFF, dma.ReadUInt16(0x1_0004));
        Assert.Equal((byte)0x77, dma.ReadByte(0x1_0006));
        Assert.Equal((byte)0xDD, dma.ReadByte(0x1_0000));
    }

    [Fact]
    public void Scoped_access_sees_and_changes_RAM_in_place_and_tells_the_write_observer()
    {
        using var memory = GuestMemory.Create(Slots);
        var observer = new RecordingObserver();
        memory.WriteObserver = observer;
        var dma = new GuestDma(memory);

        dma.Modify(0x1_0010, 4, bytes => bytes.Fill(0x5A));
        int sum = dma.Inspect(0x1_000F, 6, bytes => bytes.ToArray().Sum(b => b));

        Assert.Equal(4 * 0x5A, sum);
        Assert.Equal([(0x1_0010UL, 4UL)], observer.Writes);
    }

    [Fact]
    public void Scoped_access_needs_host_contiguous_RAM_and_refuses_before_running_the_callback()
    {
        using var memory = GuestMemory.Create(Slots);
        var dma = new GuestDma(memory);
        bool ran = false;

        // Slots 0 and 1 follow each other in the guest (so copies may cross) but not in the host mapping.
        Assert.Throws<GuestMemoryException>(() => dma.Modify((3 * Page) - 2, 4, _ => ran = true));
        Assert.Throws<GuestMemoryException>(() => dma.Inspect(0x1_0000 + (2 * Page) - 2, 4, _ => ran = true));
        dma.Write((3 * Page) - 2, [1, 2, 3, 4]);

        Assert.False(ran);
        Assert.Equal(0x0403_0201u, dma.ReadUInt32((3 * Page) - 2));
    }

    [Fact]
    public void Every_request_after_the_memory_is_closed_throws_GuestMemoryClosedException()
    {
        var memory = GuestMemory.Create(Slots);
        var dma = new GuestDma(memory);
        memory.Dispose();
        memory.Dispose();

        Assert.True(memory.IsClosed);
        Assert.False(dma.IsRam(0, 1));
        Assert.Throws<GuestMemoryClosedException>(() => dma.ReadByte(0));
        Assert.Throws<GuestMemoryClosedException>(() => dma.WriteUInt32(0, 1));
        Assert.Throws<GuestMemoryClosedException>(() => dma.Read(0, new byte[8]));
        Assert.Throws<GuestMemoryClosedException>(() => dma.Write(0, new byte[8]));
        Assert.Throws<GuestMemoryClosedException>(() => dma.Inspect(0, 8, _ => 0));
        Assert.Throws<GuestMemoryClosedException>(() => dma.Modify(0, 8, _ => { }));
        Assert.Throws<GuestMemoryClosedException>(() => dma.Read(ulong.MaxValue, new byte[8]));
        Assert.Throws<GuestMemoryClosedException>(() => memory.Read<byte>(0));
        Assert.Empty(memory.Regions);
    }

    private static bool Run(Request[] requests)
    {
        using var memory = GuestMemory.Create(Slots);
        var dma = new GuestDma(memory);
        var model = Slots.ToDictionary(s => s.Slot, s => new byte[s.Size]);
        var random = new Random(requests.Length);
        foreach (var slot in Slots)
        {
            random.NextBytes(model[slot.Slot]);
            model[slot.Slot].CopyTo(memory.GetSpan(slot.GuestPhysicalAddress, (int)slot.Size));
        }

        foreach (var request in requests)
        {
            bool ram = ModelSaysRam(request.Address, request.Length);
            byte[] data = new byte[request.Length];
            new Random(request.Seed).NextBytes(data);
            bool served;
            try
            {
                if (request.IsWrite)
                {
                    dma.Write(request.Address, data);
                }
                else
                {
                    dma.Read(request.Address, data);
                }

                served = true;
            }
            catch (GuestMemoryException ex) when (ex.Address == request.Address && ex.AccessLength == (ulong)request.Length)
            {
                served = false;
            }

            if (served != ram)
            {
                return false;
            }

            for (int i = 0; served && i < data.Length; i++)
            {
                ulong address = request.Address + (ulong)i;
                if (request.IsWrite)
                {
                    SetModelByte(model, address, data[i]);
                }
                else if (data[i] != ModelByte(model, address))
                {
                    return false;
                }
            }

            // Nothing outside the request changed, and a refused request changed nothing at all.
            if (!Slots.All(s => memory.GetSpan(s.GuestPhysicalAddress, (int)s.Size).SequenceEqual(model[s.Slot])))
            {
                return false;
            }
        }

        return true;
    }

    private static bool ModelSaysRam(ulong address, int length)
    {
        if (length == 0)
        {
            return true;
        }

        if (address > ulong.MaxValue - (ulong)(length - 1))
        {
            return false;
        }

        for (int i = 0; i < length; i++)
        {
            if (FindSlot(address + (ulong)i) is null)
            {
                return false;
            }
        }

        return true;
    }

    private static RamSlot? FindSlot(ulong address)
    {
        foreach (var slot in Slots)
        {
            if (address >= slot.GuestPhysicalAddress && address - slot.GuestPhysicalAddress < slot.Size)
            {
                return slot;
            }
        }

        return null;
    }

    private static byte ModelByte(Dictionary<int, byte[]> model, ulong address)
    {
        var slot = FindSlot(address)!;
        return model[slot.Slot][address - slot.GuestPhysicalAddress];
    }

    private static void SetModelByte(Dictionary<int, byte[]> model, ulong address, byte value)
    {
        var slot = FindSlot(address)!;
        model[slot.Slot][address - slot.GuestPhysicalAddress] = value;
    }

    private sealed class RecordingObserver : IGuestMemoryWriteObserver
    {
        public List<(ulong Address, ulong Length)> Writes { get; } = [];

        public void OnHostWrite(ulong address, ulong length) => Writes.Add((address, length));
    }
}
