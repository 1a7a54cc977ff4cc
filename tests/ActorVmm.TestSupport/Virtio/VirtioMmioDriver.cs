using ActorVmm.Devices.Virtio;
using ActorVmm.Devices.Virtio.Mmio;
using ActorVmm.Machine.Traps;

namespace ActorVmm.TestSupport.Virtio;

/// <summary>
/// A virtio-mmio driver as Linux's virtio_mmio.c behaves, through a real trap table: aligned 32-bit register accesses,
/// feature negotiation, queue set-up, DRIVER_OK, notifications and interrupt acknowledgement.
/// </summary>
public sealed class VirtioMmioDriver(DeviceBus bus, ulong windowBase)
{
    private const int RegisterWidth = VirtioMmioRegisters.RegisterWidth;

    /// <summary>The bus the device sits on.</summary>
    public DeviceBus Bus { get; } = bus ?? throw new ArgumentNullException(nameof(bus));

    /// <summary>The device's window.</summary>
    public ulong WindowBase { get; } = windowBase;

    /// <summary>The status field.</summary>
    public byte Status => (byte)Read(VirtioMmioRegisters.Status);

    /// <summary>All 64 device feature bits.</summary>
    public ulong DeviceFeatures
    {
        get
        {
            Write(VirtioMmioRegisters.DeviceFeaturesSel, 1);
            ulong high = Read(VirtioMmioRegisters.DeviceFeatures);
            Write(VirtioMmioRegisters.DeviceFeaturesSel, 0);
            return (high << 32) | Read(VirtioMmioRegisters.DeviceFeatures);
        }
    }

    /// <summary>Reads a 32-bit register.</summary>
    public uint Read(int offset) => (uint)Access(offset, RegisterWidth, null);

    /// <summary>Writes a 32-bit register.</summary>
    public void Write(int offset, uint value) => Access(offset, RegisterWidth, value);

    /// <summary>Any access of <paramref name="size"/> bytes at a window offset (for width tests and the configuration space).</summary>
    public ulong Access(int offset, int size, ulong? write)
    {
        ulong address = WindowBase + (ulong)offset;
        ulong value = 0;
        if (write is { } v)
        {
            Bus.Write(TrapBus.Mmio, address, size, v);
        }
        else
        {
            value = Bus.Read(TrapBus.Mmio, address, size);
        }

        if (Bus.LastOutcome == DispatchOutcome.Faulted)
        {
            throw new InvalidOperationException($"The device threw on a {size}-byte access at offset 0x{offset:X}");
        }

        return value;
    }

    /// <summary>Reads <paramref name="size"/> bytes of configuration space at <paramref name="offset"/>.</summary>
    public ulong ReadConfig(int offset, int size) => Access(VirtioMmioRegisters.Config + offset, size, null);

    /// <summary>
    /// Resets the device and negotiates: ACKNOWLEDGE, DRIVER, accept <paramref name="wanted"/> ∩ offered, FEATURES_OK,
    /// then re-reads the status. Returns the accepted features, or null when the device refused them.
    /// </summary>
    public ulong? Negotiate(ulong wanted)
    {
        Write(VirtioMmioRegisters.Status, 0);
        Write(VirtioMmioRegisters.Status, VirtioStatus.Acknowledge);
        Write(VirtioMmioRegisters.Status, VirtioStatus.Acknowledge | VirtioStatus.Driver);
        ulong accepted = DeviceFeatures & wanted;
        WriteDriverFeatures(accepted);
        Write(VirtioMmioRegisters.Status, VirtioStatus.Acknowledge | VirtioStatus.Driver | VirtioStatus.FeaturesOk);
        return (Status & VirtioStatus.FeaturesOk) != 0 ? accepted : null;
    }

    /// <summary>Writes all 64 driver feature bits.</summary>
    public void WriteDriverFeatures(ulong features)
    {
        Write(VirtioMmioRegisters.DriverFeaturesSel, 1);
        Write(VirtioMmioRegisters.DriverFeatures, (uint)(features >> 32));
        Write(VirtioMmioRegisters.DriverFeaturesSel, 0);
        Write(VirtioMmioRegisters.DriverFeatures, (uint)features);
    }

    /// <summary>Configures and enables queue <paramref name="index"/> at <paramref name="queue"/>'s addresses.</summary>
    public void SetUpQueue(int index, DriverQueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        SetUpQueue(index, queue.Size, queue.DescriptorTable, queue.AvailableRing, queue.UsedRing);
    }

    /// <summary>Configures and enables queue <paramref name="index"/> with a size and ring addresses as given.</summary>
    public void SetUpQueue(int index, ushort size, ulong descriptorTable, ulong availableRing, ulong usedRing)
    {
        Write(VirtioMmioRegisters.QueueSel, (uint)index);
        if (Read(VirtioMmioRegisters.QueueReady) != 0 || Read(VirtioMmioRegisters.QueueNumMax) < size)
        {
            throw new InvalidOperationException($"Queue {index} is in use or smaller than {size}");
        }

        Write(VirtioMmioRegisters.QueueNum, size);
        Write(VirtioMmioRegisters.QueueDescLow, (uint)descriptorTable);
        Write(VirtioMmioRegisters.QueueDescHigh, (uint)(descriptorTable >> 32));
        Write(VirtioMmioRegisters.QueueDriverLow, (uint)availableRing);
        Write(VirtioMmioRegisters.QueueDriverHigh, (uint)(availableRing >> 32));
        Write(VirtioMmioRegisters.QueueDeviceLow, (uint)usedRing);
        Write(VirtioMmioRegisters.QueueDeviceHigh, (uint)(usedRing >> 32));
        Write(VirtioMmioRegisters.QueueReady, 1);
    }

    /// <summary>Sets DRIVER_OK.</summary>
    public void DriverOk() => Write(VirtioMmioRegisters.Status, (uint)(Status | VirtioStatus.DriverOk));

    /// <summary>Notifies queue <paramref name="index"/>.</summary>
    public void Notify(int index) => Write(VirtioMmioRegisters.QueueNotify, (uint)index);

    /// <summary>What the interrupt handler does: reads InterruptStatus and acknowledges it; returns the bits.</summary>
    public uint AcknowledgeInterrupts()
    {
        uint status = Read(VirtioMmioRegisters.InterruptStatus);
        Write(VirtioMmioRegisters.InterruptAck, status);
        return status;
    }

    /// <summary>Resets the device.</summary>
    public void Reset() => Write(VirtioMmioRegisters.Status, 0);
}
