using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using ActorVmm.Kvm.Interop;
using static ActorVmm.Kvm.Interop.Libc;

namespace ActorVmm.Kvm;

/// <summary>
/// The one thread per process that waits on every registered eventfd (the ioeventfds behind all VMs'
/// doorbells) with a single epoll set, and calls each one's callback when the kernel signalled it:
/// not a thread per VM or per doorbell. The same set watches other descriptors for one-shot readiness
/// (<see cref="WatchReadable"/>: a tap with a frame for the guest). Callbacks must not block; an exception
/// from one is counted and the poller goes on. Started with the first user; a background thread that
/// sleeps in epoll_wait.
/// </summary>
internal sealed class EventFdPoller
{
    /// <summary>Name of the poller thread.</summary>
    public const string ThreadName = "kvm-eventfd-poller";

    private const int MaxEventsPerWait = 64;

    private static readonly Lazy<EventFdPoller> s_shared = new(() => new EventFdPoller());

    private readonly SafeFdHandle _epoll;
    private readonly ConcurrentDictionary<ulong, Watch> _registrations = new();
    private readonly Thread _thread;
    private long _nextKey;
    private long _failedCallbacks;
    private long _wakeups;

    private EventFdPoller()
    {
        int fd = epoll_create1(EPOLL_CLOEXEC);
        _epoll = fd >= 0 ? new SafeFdHandle(fd) : throw new KvmIoctlException(nameof(epoll_create1), Marshal.GetLastPInvokeError());
        _thread = new Thread(Run) { Name = ThreadName, IsBackground = true };
        _thread.Start();
    }

    /// <summary>The process's poller.</summary>
    public static EventFdPoller Shared => s_shared.Value;

    /// <summary>The poller thread's managed id (tests check callbacks run there).</summary>
    public int ManagedThreadId => _thread.ManagedThreadId;

    /// <summary>Eventfds being watched.</summary>
    public int Count => _registrations.Count;

    /// <summary>Callbacks that threw.</summary>
    public long FailedCallbacks => Interlocked.Read(ref _failedCallbacks);

    /// <summary>Times epoll_wait returned with events.</summary>
    public long Wakeups => Interlocked.Read(ref _wakeups);

    /// <summary>
    /// Watches <paramref name="eventFd"/>: after the kernel (or anyone) signals it, the poller drains its
    /// counter and calls <paramref name="onSignalled"/>. Dispose the result before closing the fd; after
    /// Dispose returns the poller no longer touches the fd.
    /// </summary>
    public IDisposable Add(SafeFdHandle eventFd, Action onSignalled)
    {
        ArgumentNullException.ThrowIfNull(eventFd);
        ArgumentNullException.ThrowIfNull(onSignalled);
        ulong key = (ulong)Interlocked.Increment(ref _nextKey);
        var registration = new Registration(this, key, eventFd, onSignalled);
        _registrations[key] = registration;
        var ev = new epoll_event { events = EPOLLIN, data = key };
        if (epoll_ctl(_epoll, EPOLL_CTL_ADD, eventFd, ref ev) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            _registrations.TryRemove(key, out _);
            throw new KvmIoctlException("epoll_ctl(EPOLL_CTL_ADD)", errno);
        }

        return registration;
    }

    /// <summary>
    /// Watches <paramref name="fd"/> for readability, one report per <see cref="ReadinessWatch.Arm"/> (EPOLLONESHOT,
    /// level-triggered: arming while data is already waiting reports at once). The poller calls
    /// <paramref name="onReadable"/> and reads nothing itself. Dispose the result before closing the fd.
    /// </summary>
    public ReadinessWatch WatchReadable(SafeFdHandle fd, Action onReadable)
    {
        ArgumentNullException.ThrowIfNull(fd);
        ArgumentNullException.ThrowIfNull(onReadable);
        ulong key = (ulong)Interlocked.Increment(ref _nextKey);
        var watch = new ReadinessWatch(this, key, fd, onReadable);
        _registrations[key] = watch;
        return watch;
    }

    private void Remove(ulong key, SafeFdHandle fd)
    {
        var ev = default(epoll_event);
        // ENOENT (a readiness watch never armed) or a failure leaves a key nobody maps.
        _ = epoll_ctl(_epoll, EPOLL_CTL_DEL, fd, ref ev);
        _registrations.TryRemove(key, out _);
    }

    private unsafe void Run()
    {
        var events = new epoll_event[MaxEventsPerWait];
        while (true)
        {
            int ready;
            // Safe: the array is pinned for the call and epoll_wait writes at most MaxEventsPerWait entries.
            fixed (epoll_event* buffer = events)
            {
                ready = epoll_wait(_epoll, buffer, MaxEventsPerWait, -1);
            }

            if (ready < 0)
            {
                // EINTR (a runtime signal): wait again. Nothing else can fail on a valid epoll fd.
                continue;
            }

            Interlocked.Increment(ref _wakeups);
            for (int i = 0; i < ready; i++)
            {
                if (_registrations.TryGetValue(events[i].data, out var registration))
                {
                    registration.Fire();
                }
            }
        }
    }

    /// <summary>
    /// A descriptor the poller thread watches: epoll reports it, <see cref="Fire"/> checks the watch is still in place
    /// (and lets the kind consume what woke it) under the watch's lock, then calls the callback outside it. Disposing
    /// removes it; after Dispose returns the poller no longer touches the descriptor.
    /// </summary>
    internal abstract class Watch(EventFdPoller poller, ulong key, SafeFdHandle fd, Action callback) : IDisposable
    {
        /// <summary>Guards <see cref="Removed"/> and what a kind does with the descriptor.</summary>
        protected Lock Gate { get; } = new();

        /// <summary>Disposed (under <see cref="Gate"/>): the descriptor may be closing.</summary>
        protected bool Removed { get; private set; }

        /// <summary>The poller that watches the descriptor.</summary>
        protected EventFdPoller Poller => poller;

        /// <summary>The epoll key of this watch.</summary>
        protected ulong Key => key;

        /// <summary>The descriptor watched.</summary>
        protected SafeFdHandle Fd => fd;

        public void Fire()
        {
            lock (Gate)
            {
                // Removed between epoll_wait and here: the fd may be closing, leave it alone.
                if (Removed || !Consume())
                {
                    return;
                }
            }

            try
            {
                callback();
            }
            catch (Exception)
            {
                Interlocked.Increment(ref poller._failedCallbacks);
            }
        }

        public void Dispose()
        {
            lock (Gate)
            {
                if (Removed)
                {
                    return;
                }

                Removed = true;
            }

            poller.Remove(key, fd);
        }

        /// <summary>Under <see cref="Gate"/>, before the callback: false when there is nothing to report after all.</summary>
        protected virtual bool Consume() => true;
    }

    /// <summary>A one-shot readability watch over a descriptor the caller owns; see <see cref="WatchReadable"/>.</summary>
    internal sealed class ReadinessWatch(EventFdPoller poller, ulong key, SafeFdHandle fd, Action onReadable) : Watch(poller, key, fd, onReadable)
    {
        private bool _added;

        /// <summary>
        /// Asks for one call of the callback once the descriptor is readable (EPOLL_CTL_ADD the first time, EPOLL_CTL_MOD
        /// after). False when the watch was disposed or epoll refused (errno in <paramref name="errno"/>).
        /// </summary>
        public bool Arm(out int errno)
        {
            errno = 0;
            lock (Gate)
            {
                if (Removed)
                {
                    return false;
                }

                var ev = new epoll_event { events = EPOLLIN | EPOLLONESHOT, data = Key };
                if (epoll_ctl(Poller._epoll, _added ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, Fd, ref ev) != 0)
                {
                    errno = Marshal.GetLastPInvokeError();
                    return false;
                }

                _added = true;
                return true;
            }
        }
    }

    /// <summary>An eventfd watch (<see cref="Add"/>): each report drains the counter before the callback.</summary>
    private sealed class Registration(EventFdPoller poller, ulong key, SafeFdHandle eventFd, Action onSignalled) : Watch(poller, key, eventFd, onSignalled)
    {
        protected override bool Consume()
        {
            ulong count = 0;
            return read(Fd, ref count, sizeof(ulong)) == sizeof(ulong) && count != 0; // EAGAIN: already drained (a level-triggered repeat)
        }
    }
}
