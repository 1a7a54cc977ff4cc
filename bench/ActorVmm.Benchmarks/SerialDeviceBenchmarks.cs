using ActorVmm.Devices;
using ActorVmm.Devices.Serial;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Traps;
using BenchmarkDotNet.Attributes;

namespace ActorVmm.Benchmarks;

/// <summary>
/// The UART's exit-path cost as a vCPU sees it: dispatcher lookup, the device lock and the state machine.
/// Run with: dotnet run -c Release --project bench/ActorVmm.Benchmarks -- --filter '*SerialDevice*' --job short
/// </summary>
[MemoryDiagnoser]
public class SerialDeviceBenchmarks
{
    private const int VcpuId = 0;
    private const byte SampleByte = (byte)'x';
    private const ulong ThrPort = 0x3F8;
    private const ulong LsrPort = 0x3FD;

    private readonly byte[] _buffer = new byte[1];
    private TrapDispatcher _dispatcher = null!;

    [GlobalSetup]
    public void Setup()
    {
        var device = new SerialDevice(SerialPortSpec.Com1, new NoInterruptLine(), NullGuestOutput.Instance);
        var table = new TrapTable();
        var region = device.Regions[0];
        table.ClaimWriter().Register(region.Bus, region.Base, region.Length, access => device.HandleTrap(0, access), name: device.Name);
        _dispatcher = new TrapDispatcher(table);
    }

    /// <summary>One OUT to THR (a console byte).</summary>
    [Benchmark]
    public DispatchOutcome TransmitByte()
    {
        _buffer[0] = SampleByte;
        return _dispatcher.Dispatch(VcpuId, TrapBus.Pio, ThrPort, TrapDirection.Write, _buffer);
    }

    /// <summary>One IN from LSR (the console's THRE poll before each byte).</summary>
    [Benchmark]
    public DispatchOutcome PollLineStatus() => _dispatcher.Dispatch(VcpuId, TrapBus.Pio, LsrPort, TrapDirection.Read, _buffer);

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
