using ActorVmm.Devices.Pci;
using FsCheck;
using FsCheck.Xunit;

namespace ActorVmm.Devices.Tests.Pci;

public sealed class PciConfigPropertyTests
{
    private const int MechanismOne = 0;
    private const int Ecam = 1;
    private const int RawPort = 2;
    private const int PathCount = 3;
    private static readonly int[] ConfigSizes = [1, 2, 4];
    private static readonly int[] EcamSizes = [1, 2, 4, 8];
    private const int TargetShift = 0;
    private const int WriteShift = 4;
    private const int SizeShift = 5;
    private const int PathShift = 9;
    private const int ValueKindShift = 13;
    private const int RegisterShift = 16;
    private const int ValueShift = 32;
    private const uint PlausibleBase = 0xD000_0000;
    private const uint PlausiblePages = 0xFFF;
    private const int PageShift = 12;
    private static readonly int[] HotRegisters = [.. Enumerable.Range(0, PciHeader.BarCount).Select(PciHeader.Bar), PciHeader.Command];

    /// <summary>
    /// Any configuration traffic of any width at any offset, through 0xCF8/0xCFC, ECAM or raw port accesses, to the
    /// test function, the host bridge, an absent slot or another bus: nothing throws, read-only bits never change, and
    /// after every step each BAR's reported placement equals what its registers and the command register say.
    /// </summary>
    [Property(MaxTest = 300)]
    public void Config_traffic_never_throws_keeps_read_only_bits_and_placements_follow_the_registers(DoNotSize<ulong>[] operations)
    {
        var rig = new PciTestRig();
        var cycles = new ConfigCycles(rig.Bridge, PciTestRig.EcamBase);
        PciFunction[] watched = [rig.Function, rig.Bus.HostBridge];
        var changeable = watched.Select(PciModel.ChangeableBits).ToArray();
        var initial = watched.Select(PciModel.Dump).ToArray();
        PciAddress[] targets = [rig.Address, rig.Address, rig.Address, new(0, 0, 0), new(0, PciTestRig.SlotDevice + 1, 0), new(1, PciTestRig.SlotDevice, 0)];

        for (int step = 0; step < (operations ?? []).Length; step++)
        {
            ulong bits = Scrambled.Bits(operations![step].Item, step);
            var address = targets[Scrambled.Field(bits, TargetShift, targets.Length)];
            bool write = Scrambled.Field(bits, WriteShift, 2) == 1;
            int sizeChoice = Scrambled.Field(bits, SizeShift, 16);
            int path = Scrambled.Field(bits, PathShift, 16);
            uint raw = (uint)(bits >> ValueShift);

            // Bias the traffic to the BARs and the command register, and to the header; values to the sizing
            // pattern and to plausible BAR addresses.
            int register = Scrambled.Field(bits, RegisterShift, 1 << 16);
            int offset = (register % 4) switch
            {
                0 => HotRegisters[(register / 4) % HotRegisters.Length],
                1 => (register / 4) % PciHeader.StandardHeaderSize,
                _ => register % PciHeader.ExtendedConfigSpaceSize,
            };
            uint value = Scrambled.Field(bits, ValueKindShift, 4) switch
            {
                0 => uint.MaxValue,
                1 => raw & ushort.MaxValue,
                2 => PlausibleBase + ((raw & PlausiblePages) << PageShift),
                _ => raw,
            };
            switch (path % PathCount)
            {
                case MechanismOne:
                    int size = ConfigSizes[sizeChoice % ConfigSizes.Length];
                    offset %= PciHeader.ConfigSpaceSize;
                    if (write)
                    {
                        cycles.Write(address, offset, size, value);
                    }
                    else
                    {
                        Assert.True(cycles.Read(address, offset, size) <= PciBus.AllOnes(size));
                    }

                    break;
                case Ecam:
                    int ecamSize = EcamSizes[sizeChoice % EcamSizes.Length];
                    ulong at = PciEcam.Offset(address, offset % PciHeader.ExtendedConfigSpaceSize);
                    if (write)
                    {
                        cycles.EcamWrite(at, ecamSize, value);
                    }
                    else
                    {
                        cycles.EcamRead(at, ecamSize);
                    }

                    break;
                default:
                    ulong port = PciHostBridgeDevice.ConfigAddressPort + (ulong)(offset % PciHostBridgeDevice.PortCount);
                    int portSize = ConfigSizes[sizeChoice % ConfigSizes.Length];
                    if (write)
                    {
                        cycles.PortWrite(port, portSize, value);
                    }
                    else
                    {
                        cycles.PortRead(port, portSize);
                    }

                    break;
            }

            for (int f = 0; f < watched.Length; f++)
            {
                var now = PciModel.Dump(watched[f]);
                for (int i = 0; i < now.Length; i++)
                {
                    Assert.True(((now[i] ^ initial[f][i]) & ~changeable[f][i]) == 0, $"read-only bits of byte 0x{i:X2} changed: 0x{initial[f][i]:X2} -> 0x{now[i]:X2}");
                }
            }

            foreach (var bar in rig.Definition.Bars)
            {
                var expected = PciModel.ExpectedPlacement(rig.Function, bar);
                Assert.Equal(expected, rig.Placements[bar.Index].Current);
                Assert.Equal(expected, rig.Function.Placement(bar.Index));
            }
        }
    }

    /// <summary>Whatever a BAR held, writing all ones reads back a power-of-two size mask with the BAR's type bits.</summary>
    [Property(MaxTest = 300)]
    public void Sized_bar_reads_back_a_power_of_two_mask_with_its_type_bits(DoNotSize<ulong> seed)
    {
        ulong bits = Scrambled.Bits(seed.Item, 0);
        ulong prior = Scrambled.Bits(seed.Item, 1);
        uint priorLow = (uint)prior, priorHigh = (uint)(prior >> 32);
        bool throughEcam = Scrambled.Field(bits, 0, 2) == 1;
        int barChoice = Scrambled.Field(bits, 1, PciHeader.BarCount);
        var rig = new PciTestRig();
        var cycles = new ConfigCycles(rig.Bridge, PciTestRig.EcamBase);
        var bar = rig.Definition.Bars[barChoice % rig.Definition.Bars.Count];
        bool is64 = bar.Kind == PciBarKind.Memory64;
        int low = PciHeader.Bar(bar.Index), high = PciHeader.Bar(bar.Index + 1);

        void Write(int register, uint value)
        {
            if (throughEcam)
            {
                cycles.EcamWrite(PciEcam.Offset(rig.Address, register), 4, value);
            }
            else
            {
                cycles.Write(rig.Address, register, 4, value);
            }
        }

        Write(low, priorLow);
        if (is64)
        {
            Write(high, priorHigh);
        }

        Write(low, PciBarBits.SizingPattern);
        if (is64)
        {
            Write(high, PciBarBits.SizingPattern);
        }

        uint readLow = cycles.Read(rig.Address, low, 4);
        uint expectedType = bar.Kind switch
        {
            PciBarKind.Io => PciBarBits.IoSpace,
            PciBarKind.Memory32 => bar.Prefetchable ? PciBarBits.Prefetchable : 0,
            _ => PciBarBits.MemoryType64 | (bar.Prefetchable ? PciBarBits.Prefetchable : 0),
        };
        uint typeMask = PciModel.TypeBits(bar);
        Assert.Equal(expectedType, readLow & typeMask);

        ulong mask = readLow & ~typeMask;
        if (is64)
        {
            mask |= (ulong)cycles.Read(rig.Address, high, 4) << 32;
        }
        else
        {
            // A 32-bit BAR decodes below 4 GiB: every bit above is part of its mask.
            mask |= ~(PciModel.FourGiB - 1);
        }

        ulong size = ~mask + 1;
        Assert.True(size != 0 && (size & (size - 1)) == 0, $"size 0x{size:X} from mask 0x{mask:X} is not a power of two");
        Assert.Equal(bar.Size, size);
    }
}
