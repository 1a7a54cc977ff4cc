using ActorVmm.Devices.Virtio;
using ActorVmm.Devices.Virtio.Console;
using ActorVmm.Devices.Virtio.Mmio;
using ActorVmm.Devices.Virtio.Queues;
using ActorVmm.Machine.Layout;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.TestGuests;

/// <summary>
/// A flat guest that writes a line through the first virtio-mmio transport as a virtio console driver would (hvc0): in
/// 32-bit flat protected mode it checks the device ID, negotiates VERSION_1, sets up transmitq only, sets DRIVER_OK,
/// hands over one readable buffer with the text, notifies transmitq and polls the used index; then it exits 0. Each
/// failed check exits with its own status.
/// </summary>
public static class VirtioConsoleGuest
{
    /// <summary>Exit statuses of the failed checks.</summary>
    public const byte NotConsole = 0x31, FeaturesRefused = 0x32, Timeout = 0x33;

    /// <summary>Guest RAM the guest needs.</summary>
    public const ulong MemorySize = 1024 * 1024;

    private const uint Mmio = (uint)X86MemoryMap.VirtioMmioBase;
    private const uint DescriptorTable = 0x3_0000;
    private const uint AvailableRing = 0x3_0100;
    private const uint UsedRing = 0x3_0200;
    private const uint Text = 0x3_1000;
    private const ushort QueueSize = 8;
    private const uint PollLimit = 0x1000_0000;

    /// <summary>Builds the image that writes <paramref name="text"/> (ASCII) to the console.</summary>
    public static byte[] Build(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return ProtectedModeImage.Build(asm =>
        {
            const uint AckDriver = VirtioStatus.Acknowledge | VirtioStatus.Driver;
            const uint FeaturesOk = AckDriver | VirtioStatus.FeaturesOk;
            var fail = asm.CreateLabel();
            asm.mov(bl, NotConsole);
            asm.cmp(__dword_ptr[Mmio + VirtioMmioRegisters.DeviceId], (uint)VirtioDeviceType.Console);
            asm.jne(fail);
            Write(asm, VirtioMmioRegisters.Status, 0);
            Write(asm, VirtioMmioRegisters.Status, AckDriver);
            Write(asm, VirtioMmioRegisters.DriverFeaturesSel, 1);
            Write(asm, VirtioMmioRegisters.DriverFeatures, (uint)(VirtioFeatures.Version1 >> 32));
            Write(asm, VirtioMmioRegisters.Status, FeaturesOk);
            asm.mov(bl, FeaturesRefused);
            asm.test(__dword_ptr[Mmio + VirtioMmioRegisters.Status], VirtioStatus.FeaturesOk);
            asm.jz(fail);
            Write(asm, VirtioMmioRegisters.QueueSel, VirtioConsole.TransmitQueue);
            Write(asm, VirtioMmioRegisters.QueueNum, QueueSize);
            Write(asm, VirtioMmioRegisters.QueueDescLow, DescriptorTable);
            Write(asm, VirtioMmioRegisters.QueueDriverLow, AvailableRing);
            Write(asm, VirtioMmioRegisters.QueueDeviceLow, UsedRing);
            Write(asm, VirtioMmioRegisters.QueueReady, 1);
            Write(asm, VirtioMmioRegisters.Status, FeaturesOk | VirtioStatus.DriverOk);

            for (int i = 0; i < text.Length; i++)
            {
                asm.mov(__byte_ptr[Text + (uint)i], (byte)text[i]);
            }

            asm.mov(__dword_ptr[DescriptorTable + SplitRing.DescriptorAddressOffset], Text);
            asm.mov(__dword_ptr[DescriptorTable + SplitRing.DescriptorLengthOffset], (uint)text.Length);
            asm.mov(__word_ptr[AvailableRing + SplitRing.AvailableRingOffset], 0);
            asm.mov(__word_ptr[AvailableRing + SplitRing.AvailableIndexOffset], 1);
            Write(asm, VirtioMmioRegisters.QueueNotify, VirtioConsole.TransmitQueue);

            var poll = asm.CreateLabel();
            var done = asm.CreateLabel();
            asm.mov(ecx, PollLimit);
            asm.Label(ref poll);
            asm.cmp(__word_ptr[UsedRing + SplitRing.UsedIndexOffset], 1);
            asm.je(done);
            asm.pause();
            asm.dec(ecx);
            asm.jnz(poll);
            asm.mov(bl, Timeout);
            asm.jmp(fail);
            asm.Label(ref done);
            asm.mov(bl, 0);
            asm.Label(ref fail);
            ProtectedModeImage.EmitExitWithBl(asm);
        });
    }

    private static void Write(Assembler asm, int offset, uint value) => asm.mov(__dword_ptr[Mmio + (uint)offset], value);
}
