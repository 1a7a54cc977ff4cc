using ActorVmm.Machine.Memory;

namespace ActorVmm.Machine.Tests.Memory;

/// <summary>
/// Guest memory outlives every DMA request: closing it refuses new requests at once, the unmap waits for the requests in
/// flight, and a request that arrives late is a <see cref="GuestMemoryClosedException"/>, never a host fault (a fault
/// would kill the test process).
/// </summary>
public sealed class GuestMemoryLifetimeTests
{
    private const ulong RamSize = 64 * 1024;
    private const int Chunk = 256;
    private const int DmaThreads = 3;
    private const int WarmUpRequests = 2000;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan StillBlocked = TimeSpan.FromMilliseconds(200);

    [Fact]
    public void Closing_waits_for_a_scoped_access_in_flight_and_unmaps_only_after_it_returns()
    {
        var memory = GuestMemory.Create(RamSize);
        var dma = new GuestDma(memory);
        using var inside = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        long unmappedWithInFlight = -1;
        bool unmapped = false;
        memory.BeforeUnmap = inFlight =>
        {
            Volatile.Write(ref unmappedWithInFlight, inFlight);
            Volatile.Write(ref unmapped, true);
        };

        Exception? accessError = null;
        var access = StartThread(() =>
        {
            try
            {
                dma.Modify(0, Chunk, bytes =>
                {
                    inside.Set();
                    release.Wait(Patience);

                    // Still mapped: this store would fault the process if the memory had been unmapped under us.
                    bytes.Fill(0xA5);
                });
            }
            catch (Exception ex)
            {
                accessError = ex;
            }
        });
        Assert.True(inside.Wait(Patience));
        var close = StartThread(memory.Dispose);

        Assert.True(SpinWait.SpinUntil(() => memory.IsClosed, Patience));
        Assert.Throws<GuestMemoryClosedException>(() => dma.ReadByte(0));
        Assert.False(close.Join(StillBlocked), "Dispose returned while a scoped access was in flight");
        Assert.False(Volatile.Read(ref unmapped));

        release.Set();
        Assert.True(access.Join(Patience));
        Assert.Null(accessError);
        Assert.True(close.Join(Patience));
        Assert.True(Volatile.Read(ref unmapped));
        Assert.Equal(0, Volatile.Read(ref unmappedWithInFlight));
    }

    [Fact]
    public void DMA_loops_on_other_threads_end_with_the_closed_exception_and_the_unmap_follows_their_last_access()
    {
        var memory = GuestMemory.Create(RamSize);
        var dma = new GuestDma(memory);
        long clock = 0;
        long lastAccessEnded = 0;
        long unmappedAt = 0;
        long inFlightAtUnmap = -1;
        long served = 0;
        memory.BeforeUnmap = inFlight =>
        {
            Volatile.Write(ref inFlightAtUnmap, inFlight);
            Volatile.Write(ref unmappedAt, Interlocked.Increment(ref clock));
        };

        var endings = new Exception?[DmaThreads];
        var loops = Enumerable.Range(0, DmaThreads).Select(t => StartThread(() => endings[t] = DmaLoop(t))).ToArray();
        Assert.True(SpinWait.SpinUntil(() => Interlocked.Read(ref served) >= WarmUpRequests, Patience), "the DMA loops did not get going");
        memory.Dispose();

        Assert.All(loops, loop => Assert.True(loop.Join(Patience), "a DMA loop did not end after the memory was closed"));
        Assert.All(endings, ending => Assert.IsType<GuestMemoryClosedException>(ending));
        Assert.Equal(0, Volatile.Read(ref inFlightAtUnmap));
        Assert.True(Volatile.Read(ref unmappedAt) > Volatile.Read(ref lastAccessEnded), $"unmapped at tick {unmappedAt}, but an access ended at tick {lastAccessEnded}");
        Assert.Throws<GuestMemoryClosedException>(() => dma.WriteUInt64(0, 1));

        Exception DmaLoop(int thread)
        {
            ulong address = (ulong)thread * Chunk;
            byte[] buffer = new byte[Chunk];
            try
            {
                for (byte round = 0; ; round++)
                {
                    // A scoped access that takes its time inside (the unmap must wait for it), then plain copies.
                    dma.Modify(address, Chunk, bytes =>
                    {
                        bytes.Fill(round);
                        Thread.SpinWait(200);
                        if (bytes[Chunk - 1] != round)
                        {
                            throw new InvalidOperationException("another writer overlapped this thread's chunk");
                        }

                        RecordEnd();
                    });
                    dma.Read(address, buffer);
                    dma.Write(address + Chunk * DmaThreads, buffer);
                    Interlocked.Increment(ref served);
                }
            }
            catch (Exception ex)
            {
                return ex;
            }
        }

        void RecordEnd()
        {
            long now = Interlocked.Increment(ref clock);
            long seen;
            do
            {
                seen = Volatile.Read(ref lastAccessEnded);
            }
            while (now > seen && Interlocked.CompareExchange(ref lastAccessEnded, now, seen) != seen);
        }
    }

    private static Thread StartThread(Action body)
    {
        var thread = new Thread(() => body()) { IsBackground = true };
        thread.Start();
        return thread;
    }
}
