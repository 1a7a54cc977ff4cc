using System.Buffers;
using ActorVmm.Actors.Console;
using ActorVmm.Devices;
using ActorVmm.Devices.Serial;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Traps;
using Akka.Actor;
using BenchmarkDotNet.Attributes;

namespace ActorVmm.Benchmarks.Console;

/// <summary>
/// Guest console output per byte as a vCPU produces it: poll LSR until THRE, write THR, through the dispatcher and the
/// UART into the VM's console, drained by a sink actor on another thread to <see cref="Stream.Null"/>; each invocation
/// prints 4096 bytes and waits until the sink has written them all, so both paths are timed end to end. Compares the
/// console output buffer (one drain signal per burst, no allocation per byte) with the path it replaced, rebuilt here
/// as the baseline: a copied array in a message per write, appended to a buffer in the sink. Allocated bytes count all
/// threads (the sink's too).
/// Run with: dotnet run -c Release --project bench/ActorVmm.Benchmarks -- --filter '*ConsoleOutput*' --job short --inProcess
/// </summary>
[MemoryDiagnoser]
public class ConsoleOutputBenchmarks
{
    private const int BytesPerInvoke = 4096;
    private const int VcpuId = 0;
    private const ulong ThrPort = 0x3F8;
    private const ulong LsrPort = 0x3FD;
    private readonly byte[] _data = [(byte)'x'];
    private readonly byte[] _status = new byte[1];
    private ActorSystem _system = null!;
    private TrapDispatcher _buffered = null!;
    private TrapDispatcher _messagePerWrite = null!;
    private GuestOutputBuffer _buffer = null!;
    private MessagePerWriteCounter _baselineWritten = null!;
    private long _printed;

    [GlobalSetup]
    public void Setup()
    {
        _system = ActorSystem.Create("console-bench");
        _buffer = new GuestOutputBuffer();
        _system.ActorOf(ConsoleSinkActor.Props(ConsoleTarget.None, _buffer));
        _buffered = Uart(_buffer);
        var counter = _baselineWritten = new MessagePerWriteCounter();
        _messagePerWrite = Uart(new MessagePerWriteOutput(_system.ActorOf(Props.Create(() => new MessagePerWriteSink(counter)))));
    }

    [GlobalCleanup]
    public void Cleanup() => _system.Terminate().Wait();

    /// <summary>The path this replaced: a message with a copied array per THR write.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = BytesPerInvoke)]
    public void MessagePerWrite()
    {
        Print(_messagePerWrite);
        long target = _printed += BytesPerInvoke;
        SpinWait.SpinUntil(() => Volatile.Read(ref _baselineWritten.Written) >= target);
    }

    /// <summary>The console output buffer: the UART appends under a short lock; one drain signal per burst.</summary>
    [Benchmark(OperationsPerInvoke = BytesPerInvoke)]
    public void OutputBuffer()
    {
        Print(_buffered);
        SpinWait.SpinUntil(() => _buffer.PendingCount == 0);
    }

    private static TrapDispatcher Uart(IGuestOutput output)
    {
        var device = new SerialConsoleTestUart(output);
        var table = new TrapTable();
        var region = device.Device.Regions[0];
        table.ClaimWriter().Register(region.Bus, region.Base, region.Length, access => device.Device.HandleTrap(0, access), name: device.Device.Name);
        return new TrapDispatcher(table);
    }

    private void Print(TrapDispatcher dispatcher)
    {
        for (int i = 0; i < BytesPerInvoke; i++)
        {
            // As a driver does: wait for THRE (clear while the console is full), then send.
            do
            {
                dispatcher.Dispatch(VcpuId, TrapBus.Pio, LsrPort, TrapDirection.Read, _status);
            }
            while ((_status[0] & Uart16550Registers.LsrThrEmptyBit) == 0);

            dispatcher.Dispatch(VcpuId, TrapBus.Pio, ThrPort, TrapDirection.Write, _data);
        }
    }

    /// <summary>COM1 whose held bytes are sent again as soon as the output has room (the device actor's job in a VM).</summary>
    private sealed class SerialConsoleTestUart
    {
        public SerialConsoleTestUart(IGuestOutput output)
        {
            Device = new SerialDevice(SerialPortSpec.Com1, new NoInterruptLine(), output);
            Device.TransmitSpaceAvailable += () => ThreadPool.UnsafeQueueUserWorkItem(static device => device.ResumeTransmit(), Device, preferLocal: false);
        }

        public SerialDevice Device { get; }
    }

    private sealed class MessagePerWriteCounter
    {
        public long Written;
    }

    private sealed class MessagePerWriteOutput(IActorRef sink) : IGuestOutput
    {
        public void Write(ReadOnlySpan<byte> bytes) => sink.Tell(bytes.ToArray(), ActorRefs.NoSender);
    }

    /// <summary>The replaced sink: appends each message's bytes, then writes a burst at once with one flush.</summary>
    private sealed class MessagePerWriteSink : ReceiveActor
    {
        private readonly ArrayBufferWriter<byte> _pending = new();
        private bool _drainScheduled;

        public MessagePerWriteSink(MessagePerWriteCounter counter)
        {
            Receive<byte[]>(bytes =>
            {
                _pending.Write(bytes);
                if (!_drainScheduled)
                {
                    _drainScheduled = true;
                    Self.Tell(DrainNow.Instance);
                }
            });
            Receive<DrainNow>(_ =>
            {
                _drainScheduled = false;
                Stream.Null.Write(_pending.WrittenSpan);
                Stream.Null.Flush();
                Volatile.Write(ref counter.Written, counter.Written + _pending.WrittenCount);
                _pending.ResetWrittenCount();
            });
        }

        private sealed record DrainNow
        {
            public static DrainNow Instance { get; } = new();
        }
    }

    private sealed class NoInterruptLine : IInterruptLine
    {
        public int Irq => SerialPortSpec.Com1.Irq;

        public void SetLevel(bool asserted)
        {
        }

        public void Pulse()
        {
        }
    }
}
