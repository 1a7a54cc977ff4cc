using ActorVmm.Devices.Pci.Msix;
using ActorVmm.Machine.Traps;
using FsCheck;
using FsCheck.Xunit;

namespace ActorVmm.Devices.Tests.Pci;

public sealed class MsixPropertyTests
{
    private const int Trigger = 0;
    private const int MaskDword = 1;
    private const int MessageQword = 2;
    private const int DataAndControlQword = 3;
    private const int Control = 4;
    private const int KindCount = 5;
    private const ulong MessageAddressBase = 0xFEE0_0000;

    // x86 MSI address bits 19:4: destination ID, redirection hint and destination mode.
    private const uint DestinationBits = 0xF_FFF0;

    /// <summary>
    /// Any mix of triggers, table writes at 4 and 8 bytes and message-control changes: every vector is delivered
    /// exactly when the spec says (enabled, neither masked), with its current message, else held pending until unmasked.
    /// </summary>
    [Property(MaxTest = 300)]
    public void Delivery_and_pending_bits_follow_the_masks(DoNotSize<ulong>[] operations)
    {
        var rig = new PciTestRig();
        var f = rig.Function;
        int control = MsixTests.ControlRegister(f);
        int n = rig.Vectors.Length;
        bool enabled = false, functionMasked = false;
        var masked = Enumerable.Repeat(true, n).ToArray();
        var pending = new bool[n];
        var message = new (ulong Address, uint Data)[n];
        var delivered = Enumerable.Range(0, n).Select(_ => new List<(ulong, uint)>()).ToArray();

        void Settle()
        {
            for (int v = 0; v < n; v++)
            {
                if (enabled && !functionMasked && !masked[v] && pending[v])
                {
                    pending[v] = false;
                    delivered[v].Add(message[v]);
                }
            }
        }

        for (int step = 0; step < (operations ?? []).Length; step++)
        {
            ulong bits = Scrambled.Bits(operations![step].Item, step);
            int v = Scrambled.Field(bits, 0, n);
            uint value = (uint)(bits >> 32);
            switch (Scrambled.Field(bits, 8, KindCount))
            {
                case Trigger:
                    Assert.Equal(enabled, f.TriggerMsix(v));
                    if (enabled && (functionMasked || masked[v]))
                    {
                        pending[v] = true;
                    }
                    else if (enabled)
                    {
                        delivered[v].Add(message[v]);
                    }

                    break;
                case MaskDword:
                    masked[v] = (value & MsixRegisters.VectorMasked) != 0;
                    TableWrite(f, MsixTests.EntryOffset(v, MsixRegisters.EntryVectorControl), 4, value);
                    Settle();
                    break;
                case MessageQword:
                    ulong address = MessageAddressBase | (value & DestinationBits);
                    message[v] = (address, message[v].Data);
                    TableWrite(f, MsixTests.EntryOffset(v, MsixRegisters.EntryAddressLow), 8, address);
                    Settle();
                    break;
                case DataAndControlQword:
                    masked[v] = (value & 1) != 0;
                    message[v] = (message[v].Address, value);
                    TableWrite(f, MsixTests.EntryOffset(v, MsixRegisters.EntryData), 8, value | ((ulong)(value & 1) << 32));
                    Settle();
                    break;
                default:
                    enabled = (value & 1) != 0;
                    functionMasked = (value & 2) != 0;
                    f.WriteConfig(control, 2, (enabled ? MsixRegisters.Enable : 0u) | (functionMasked ? MsixRegisters.FunctionMask : 0u));
                    Settle();
                    break;
            }

            for (int i = 0; i < n; i++)
            {
                Assert.Equal(delivered[i], rig.Vectors[i].Delivered);
                Assert.Equal(pending[i], f.IsMsixPending(i));
                Assert.Equal(masked[i] ? MsixRegisters.VectorMasked : 0, TableRead(f, MsixTests.EntryOffset(i, MsixRegisters.EntryVectorControl), 4));
                Assert.Equal(message[i], (TableRead(f, MsixTests.EntryOffset(i, MsixRegisters.EntryAddressLow), 8), (uint)TableRead(f, MsixTests.EntryOffset(i, MsixRegisters.EntryData), 4)));
            }
        }
    }

    private static ulong TableRead(ActorVmm.Devices.Pci.PciFunction f, ulong offset, int size)
    {
        Span<byte> data = stackalloc byte[size];
        Assert.True(f.TryHandleMsixAccess(TestPciDevice.Memory32Bar, offset, data, isWrite: false));
        return TrapAccess.ReadLittleEndian(data);
    }

    private static void TableWrite(ActorVmm.Devices.Pci.PciFunction f, ulong offset, int size, ulong value)
    {
        Span<byte> data = stackalloc byte[size];
        TrapAccess.WriteLittleEndian(data, value);
        Assert.True(f.TryHandleMsixAccess(TestPciDevice.Memory32Bar, offset, data, isWrite: true));
    }
}
