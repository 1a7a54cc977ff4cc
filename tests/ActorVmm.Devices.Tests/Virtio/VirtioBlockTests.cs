using ActorVmm.Devices.Virtio;
using ActorVmm.Devices.Virtio.Block;
using ActorVmm.TestSupport.Virtio;
using static ActorVmm.Devices.Virtio.Block.VirtioBlockProtocol;

namespace ActorVmm.Devices.Tests.Virtio;

public sealed class VirtioBlockTests : IDisposable
{
    private const int Sectors = 64;
    private readonly string _imagePath = Path.Combine(Path.GetTempPath(), $"actorvmm-virtio-blk-{Guid.NewGuid():N}.img");

    public VirtioBlockTests()
    {
        // Sector n holds byte n in every position.
        var image = new byte[Sectors * SectorSize];
        for (int i = 0; i < image.Length; i++)
        {
            image[i] = (byte)(i / SectorSize);
        }

        File.WriteAllBytes(_imagePath, image);
    }

    public void Dispose() => File.Delete(_imagePath);

    public static TheoryData<BlockIoMode> Modes => [BlockIoMode.ThreadPool, BlockIoMode.Inline];

    [Theory]
    [MemberData(nameof(Modes))]
    public void Sector_zero_is_read_from_the_image(BlockIoMode mode)
    {
        using var image = RawImageFile.Open(_imagePath, readOnly: false, mode);
        using var machine = Machine(image);
        var driver = BlockDriver.Start(machine);

        var request = driver.Submit(RequestIn, 0, SectorSize);
        machine.Driver.Notify(0);
        var (used, status) = driver.Await(request);

        Assert.Equal(StatusOk, status);
        Assert.Equal((uint)SectorSize + 1, used.Length);
        Assert.All(driver.Data(request), b => Assert.Equal(0, b));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void A_written_sector_is_in_the_file_and_reads_back_after_a_flush(BlockIoMode mode)
    {
        byte[] data = [.. Enumerable.Range(0, 2 * SectorSize).Select(i => (byte)(i * 7))];
        using (var image = RawImageFile.Open(_imagePath, readOnly: false, mode))
        using (var machine = Machine(image))
        {
            var driver = BlockDriver.Start(machine);

            var (written, writeStatus) = driver.Run(RequestOut, 5, (uint)data.Length, data);
            var (flushed, flushStatus) = driver.Run(RequestFlush, 0);
            var readBack = driver.Submit(RequestIn, 5, (uint)data.Length);
            machine.Driver.Notify(0);
            var (_, readStatus) = driver.Await(readBack);

            Assert.Equal((StatusOk, 1u), (writeStatus, written.Length));
            Assert.Equal((StatusOk, 1u), (flushStatus, flushed.Length));
            Assert.Equal(StatusOk, readStatus);
            Assert.Equal(data, driver.Data(readBack));
        }

        Assert.Equal(data, File.ReadAllBytes(_imagePath).AsSpan(5 * SectorSize, data.Length).ToArray());
    }

    [Fact]
    public void Requests_in_an_indirect_table_are_served()
    {
        using var image = RawImageFile.Open(_imagePath, readOnly: false, BlockIoMode.Inline);
        using var machine = Machine(image);
        var driver = BlockDriver.Start(machine);

        var request = driver.Submit(RequestIn, 3, SectorSize, indirect: true);
        machine.Driver.Notify(0);
        var (_, status) = driver.Await(request);

        Assert.Equal(StatusOk, status);
        Assert.All(driver.Data(request), b => Assert.Equal(3, b));
    }

    [Fact]
    public void A_read_only_image_refuses_writes_with_ioerr_and_stays_unchanged()
    {
        byte[] before = File.ReadAllBytes(_imagePath);
        using var image = RawImageFile.Open(_imagePath, readOnly: true);
        using var machine = Machine(image);
        Assert.NotEqual(0UL, machine.Driver.DeviceFeatures & FeatureReadOnly);
        var driver = BlockDriver.Start(machine);

        var (used, status) = driver.Run(RequestOut, 0, SectorSize, new byte[SectorSize]);

        Assert.Equal(StatusIoError, status);
        Assert.Equal(1u, used.Length);
        Assert.Equal(before, File.ReadAllBytes(_imagePath));
    }

    [Theory]
    [InlineData(Sectors, 1)]
    [InlineData(Sectors - 1, 2)]
    [InlineData(ulong.MaxValue, 1)]
    [InlineData(ulong.MaxValue / SectorSize, 1)]
    public void Sectors_beyond_the_image_get_ioerr(ulong sector, int count)
    {
        using var machine = Machine(new ManualBlockBackend(Sectors * SectorSize) { AutoComplete = true });
        var driver = BlockDriver.Start(machine);

        var (used, status) = driver.Run(RequestIn, sector, (uint)(count * SectorSize));

        Assert.Equal(StatusIoError, status);
        Assert.Equal(1u, used.Length);
        Assert.Equal(1, machine.Device.Counters.BadRequests);
        Assert.Equal(0, machine.Driver.Status & VirtioStatus.DeviceNeedsReset);
    }

    [Fact]
    public void Data_that_is_not_whole_sectors_gets_ioerr()
    {
        using var machine = Machine(new ManualBlockBackend(Sectors * SectorSize) { AutoComplete = true });
        var driver = BlockDriver.Start(machine);

        Assert.Equal(StatusIoError, driver.Run(RequestIn, 0, 100).Status);
    }

    [Fact]
    public void A_request_larger_than_the_advertised_limit_gets_ioerr()
    {
        using var machine = Machine(new ManualBlockBackend(VirtioBlock.MaxRequestBytes * 2) { AutoComplete = true });
        var driver = BlockDriver.Start(machine);

        Assert.Equal(StatusIoError, driver.Run(RequestIn, 0, VirtioBlock.MaxRequestBytes + SectorSize).Status);
        Assert.Equal(StatusOk, driver.Run(RequestIn, 0, VirtioBlock.MaxRequestBytes).Status);
    }

    [Fact]
    public void Unknown_request_types_get_unsupp()
    {
        using var machine = Machine(new ManualBlockBackend(Sectors * SectorSize) { AutoComplete = true });
        var driver = BlockDriver.Start(machine);

        Assert.Equal(StatusUnsupported, driver.Run(11, 0, 16).Status);
    }

    [Fact]
    public void Get_id_returns_the_serial_nul_padded_to_twenty_bytes()
    {
        using var machine = new VirtioTestMachine(VirtioRigs.Ram, _ => new VirtioBlock(new ManualBlockBackend(SectorSize), "disk-7"));
        var driver = BlockDriver.Start(machine);

        var request = driver.Submit(RequestGetId, 0, IdBytes);
        machine.Driver.Notify(0);
        var (used, status) = driver.Await(request);

        Assert.Equal(StatusOk, status);
        Assert.Equal((uint)IdBytes + 1, used.Length);
        Assert.Equal("disk-7"u8.ToArray().Concat(new byte[IdBytes - 6]), driver.Data(request));
    }

    [Fact]
    public void A_chain_without_a_status_byte_comes_back_untouched_with_length_zero()
    {
        using var machine = Machine(new ManualBlockBackend(Sectors * SectorSize) { AutoComplete = true });
        var driver = BlockDriver.Start(machine);
        ushort head = driver.Queue.AddChain([DriverBuffer.Readable(VirtioRigs.Buffers, HeaderBytes)]);
        driver.Queue.MakeAvailable(head);

        machine.Driver.Notify(0);
        machine.RunSlowPath();

        Assert.True(driver.Queue.TryTakeUsed(out var used));
        Assert.Equal(new UsedElement(head, 0), used);
        Assert.Equal(1, machine.Device.Counters.BadRequests);
    }

    [Fact]
    public void The_configuration_space_holds_capacity_block_size_and_segment_limits()
    {
        using var machine = Machine(new ManualBlockBackend((Sectors * SectorSize) + 100));

        Assert.Equal((ulong)Sectors, machine.Driver.ReadConfig(ConfigCapacity, sizeof(ulong)));
        Assert.Equal((ulong)SectorSize, machine.Driver.ReadConfig(ConfigBlockSize, sizeof(uint)));
        Assert.Equal(VirtioBlock.MaxSegments, machine.Driver.ReadConfig(ConfigSegMax, sizeof(uint)));
        Assert.Equal(VirtioBlock.MaxSegmentBytes, machine.Driver.ReadConfig(ConfigSizeMax, sizeof(uint)));
        Assert.Equal(0UL, machine.Driver.DeviceFeatures & FeatureReadOnly);
    }

    [Fact]
    public void A_writable_image_is_locked_exclusively_and_the_error_names_it()
    {
        using var first = RawImageFile.Open(_imagePath, readOnly: false);

        var writer = Assert.Throws<BlockImageLockedException>(() => RawImageFile.Open(_imagePath, readOnly: false));
        var reader = Assert.Throws<BlockImageLockedException>(() => RawImageFile.Open(_imagePath, readOnly: true));

        Assert.Contains(_imagePath, writer.Message, StringComparison.Ordinal);
        Assert.Equal(_imagePath, reader.ImagePath);
    }

    [Fact]
    public void Read_only_opens_share_the_image_but_keep_writers_out_until_closed()
    {
        using (var a = RawImageFile.Open(_imagePath, readOnly: true))
        using (var b = RawImageFile.Open(_imagePath, readOnly: true))
        {
            Assert.Throws<BlockImageLockedException>(() => RawImageFile.Open(_imagePath, readOnly: false));
        }

        using var writer = RawImageFile.Open(_imagePath, readOnly: false);
        Assert.False(writer.IsReadOnly);
    }

    [Fact]
    public void A_missing_image_is_a_clear_error()
    {
        string missing = _imagePath + ".missing";

        var ex = Assert.Throws<FileNotFoundException>(() => RawImageFile.Open(missing, readOnly: true));

        Assert.Contains(missing, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_write_is_acknowledged_only_after_it_is_in_the_image()
    {
        var backend = new ManualBlockBackend(Sectors * SectorSize);
        using var machine = Machine(backend);
        var driver = BlockDriver.Start(machine);
        var request = driver.Submit(RequestOut, 1, SectorSize, Enumerable.Repeat((byte)0x5A, SectorSize).ToArray());

        machine.Driver.Notify(0);
        machine.RunSlowPath();
        Assert.Equal(1, backend.PendingCount);
        Assert.Equal(0, driver.Queue.UsedIndex);
        Assert.All(backend.Image.AsSpan(SectorSize, SectorSize).ToArray(), b => Assert.Equal(0, b));

        backend.Complete();
        var (_, status) = driver.Await(request);

        Assert.Equal(StatusOk, status);
        Assert.Equal(["write 512@512"], backend.Effects);
        Assert.All(backend.Image.AsSpan(SectorSize, SectorSize).ToArray(), b => Assert.Equal(0x5A, b));
    }

    [Fact]
    public void A_flush_is_acknowledged_only_after_fdatasync_returned()
    {
        var backend = new ManualBlockBackend(Sectors * SectorSize);
        using var machine = Machine(backend);
        var driver = BlockDriver.Start(machine);
        var request = driver.Submit(RequestFlush, 0);

        machine.Driver.Notify(0);
        machine.RunSlowPath();
        Assert.Equal(0, driver.Queue.UsedIndex);

        backend.Complete();
        var (_, status) = driver.Await(request);

        Assert.Equal(StatusOk, status);
        Assert.Equal(["fdatasync"], backend.Effects);
    }

    [Fact]
    public void Without_the_flush_feature_a_write_is_synced_before_it_is_acknowledged()
    {
        var backend = new ManualBlockBackend(Sectors * SectorSize);
        using var machine = Machine(backend);
        var driver = BlockDriver.Start(machine, VirtioRigs.RingFeatures);
        var request = driver.Submit(RequestOut, 2, SectorSize, new byte[SectorSize]);
        machine.Driver.Notify(0);
        machine.RunSlowPath();

        backend.Complete();
        driver.RunSlowPathUntil(() => backend.PendingCount == 1, "no fdatasync was issued after the write completed");
        Assert.Equal(0, driver.Queue.UsedIndex);
        Assert.Equal(1, backend.PendingCount);

        backend.Complete();
        driver.Await(request);

        Assert.Equal(["write 512@1024", "fdatasync"], backend.Effects);
    }

    [Fact]
    public void Several_requests_are_in_flight_and_each_is_answered_when_its_own_io_completes()
    {
        var backend = new ManualBlockBackend(Sectors * SectorSize);
        for (int i = 0; i < backend.Image.Length; i++)
        {
            backend.Image[i] = (byte)(i / SectorSize);
        }

        using var machine = Machine(backend);
        var driver = BlockDriver.Start(machine);
        var requests = Enumerable.Range(10, 3).Select(sector => driver.Submit(RequestIn, (ulong)sector, SectorSize)).ToArray();
        machine.Driver.Notify(0);
        machine.RunSlowPath();
        Assert.Equal(3, backend.PendingCount);

        // Complete the newest first: answers follow completions, not submission order.
        for (int i = 2; i >= 0; i--)
        {
            backend.Complete(i);
            var (used, status) = driver.Await(requests[i]);
            Assert.Equal((uint)SectorSize + 1, used.Length);
            Assert.Equal(StatusOk, status);
            Assert.All(driver.Data(requests[i]), b => Assert.Equal(10 + i, b));
        }
    }

    [Fact]
    public void A_failed_io_gets_ioerr_and_no_data()
    {
        var backend = new ManualBlockBackend(Sectors * SectorSize);
        using var machine = Machine(backend);
        var driver = BlockDriver.Start(machine);
        var request = driver.Submit(RequestIn, 0, SectorSize);
        machine.Dma.Write(request.Buffer, Enumerable.Repeat((byte)0x77, SectorSize).ToArray());
        machine.Driver.Notify(0);
        machine.RunSlowPath();

        backend.Complete(fail: true);
        var (used, status) = driver.Await(request);

        Assert.Equal(StatusIoError, status);
        Assert.Equal(1u, used.Length);
        Assert.All(driver.Data(request), b => Assert.Equal(0x77, b));
    }

    [Fact]
    public void A_read_completing_after_a_reset_does_not_touch_guest_memory()
    {
        var backend = new ManualBlockBackend(Sectors * SectorSize);
        Array.Fill(backend.Image, (byte)0x11);
        using var machine = Machine(backend);
        var driver = BlockDriver.Start(machine);
        var request = driver.Submit(RequestIn, 0, SectorSize);
        machine.Driver.Notify(0);
        machine.RunSlowPath();

        machine.Driver.Reset();
        backend.Complete();
        Assert.True(machine.Mailbox.WaitAndRun(machine.Device, TimeSpan.FromSeconds(30)));

        Assert.Equal(0, driver.Queue.UsedIndex);
        Assert.Equal(0xEE, machine.Dma.ReadByte(request.Status));
        Assert.All(driver.Data(request), b => Assert.Equal(0, b));
        Assert.Equal(0, ((VirtioBlock)machine.Device.Core.Model).RequestsInFlight);
    }

    private static VirtioTestMachine Machine(IBlockBackend backend) => new(VirtioRigs.Ram, _ => new VirtioBlock(backend, "test-disk"));
}
