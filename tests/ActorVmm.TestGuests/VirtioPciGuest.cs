using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Virtio;
using ActorVmm.Devices.Virtio.Block;
using ActorVmm.Devices.Virtio.Pci;
using ActorVmm.Machine.Layout;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.TestGuests;

/// <summary>
/// A flat guest that drives virtio-blk and virtio-rng through the modern virtio-pci transport as a driver would, polling
/// with interrupts off, in 32-bit flat protected mode (<see cref="ProtectedModeImage"/>): it finds the block function
/// (1AF4:1042) by enumerating bus 0 through 0xCF8/0xCFC, walks its capability list for the common, notify, ISR and
/// device structures, sizes the 64-bit BAR they name and assigns it below 4 GiB (decoding and bus mastering on),
/// resets the device, negotiates VERSION_1 and FLUSH (FEATURES_OK read back), sets up queue 0 and its notify address
/// (queue_notify_off × notify_off_multiplier), sets DRIVER_OK, then runs the block requests of
/// <see cref="VirtioBlockGuest"/> (read sector 0, write, flush with <see cref="VirtioBlockGuest.FlushedLine"/> on COM1,
/// read back) with MSI-X off, so the used-buffer interrupt shows in the ISR, which reading clears. Built with an RNG,
/// it does the same for the entropy function (1AF4:1044) and checks the bytes it gets. Then it exits 0; each failed
/// check exits with its own status (here and in <see cref="VirtioBlockGuest"/>).
/// </summary>
public static class VirtioPciGuest
{
    /// <summary>Exit statuses of the checks this guest adds.</summary>
    public const byte BlockNotFound = 0x31, NoCapabilities = 0x32, CapabilityMissing = 0x33, CapabilityInAnotherBar = 0x34,
        BarNot64BitMemory = 0x35, BarTooLarge = 0x36, BarNotAssigned = 0x37, IsrNotCleared = 0x38, RngNotFound = 0x39;

    /// <summary>Where the guest puts the block function's BAR (inside the 32-bit PCI window, so 32-bit code reaches it).</summary>
    public const uint BlockBar = (uint)X86MemoryMap.PciMmioBase + 0x10_0000;

    /// <summary>Where the guest puts the entropy function's BAR.</summary>
    public const uint RngBar = (uint)X86MemoryMap.PciMmioBase + 0x20_0000;

    /// <summary>Largest BAR the guest accepts (its BAR places are this far apart).</summary>
    public const uint MaxBarSize = 0x10_0000;

    private const int IdDword = 0;
    private const int CommandRegister = 0x04;
    private const int Bar0Register = 0x10;
    private const uint StatusCapabilitiesInDword = (uint)PciStatus.CapabilitiesList << 16;
    private const ushort MemoryAndBusMaster = (ushort)(PciCommand.MemorySpace | PciCommand.BusMaster);
    private const uint MemoryAddressMask = ~0xFu;
    private const uint MemoryTypeBits = 0x7;
    private const uint Memory64Type = 0x4;
    private const int MaxCapabilities = 48;

    // Per function, in RAM below the image: the structures' addresses by cfg_type (1–4), the notify multiplier, the BAR
    // index the common structure names, and queue 0's notify address.
    private const uint BlockVars = 0x8000;
    private const uint RngVars = 0x8040;
    private const int MultiplierVar = 0x14;
    private const int BarIndexVar = 0x18;
    private const int NotifyAddressVar = 0x1C;

    private static readonly PciConfigCycles Config = new((ushort)PciHostBridgeDevice.ConfigAddressPort, (ushort)PciHostBridgeDevice.ConfigDataPort);

    /// <summary>The ID dword (vendor | device &lt;&lt; 16) of a modern virtio function of <paramref name="type"/>.</summary>
    public static uint Ids(VirtioDeviceType type) => VirtioPciRegisters.VendorId | ((uint)VirtioPciLayout.DeviceId(type) << 16);

    /// <summary>
    /// Builds the image; <paramref name="holdAfterFlush"/> makes it spin after printing the flushed line (for a kill test);
    /// <paramref name="withRng"/> also drives virtio-rng (run with <c>--disk IMG --rng</c>).
    /// </summary>
    public static byte[] Build(bool holdAfterFlush = false, bool withRng = false) =>
        ProtectedModeImage.Build(asm => Build32(asm, holdAfterFlush, withRng));

    private static void Build32(Assembler asm, bool holdAfterFlush, bool withRng)
    {
        var fail = asm.CreateLabel();
        var noBlock = asm.CreateLabel();
        var noRng = asm.CreateLabel();

        Config.Find(asm, Ids(VirtioDeviceType.Block), noBlock);
        SetUpFunction(asm, BlockVars, BlockBar, fail);
        Negotiate(asm, BlockVars, (uint)VirtioBlockProtocol.FeatureFlush, VirtioBlockGuest.FeaturesRefused, fail);
        SetUpQueue(asm, BlockVars, VirtioBlockGuest.DescriptorTable, VirtioBlockGuest.AvailableRing, VirtioBlockGuest.UsedRing, fail);
        VirtioBlockGuest.DriveBlockRequests(asm, fail, a => Notify(a, BlockVars), ExpectIsr, holdAfterFlush);
        if (withRng)
        {
            Config.Find(asm, Ids(VirtioDeviceType.Entropy), noRng);
            SetUpFunction(asm, RngVars, RngBar, fail);
            Negotiate(asm, RngVars, 0, VirtioBlockGuest.RngFeaturesRefused, fail);
            SetUpQueue(asm, RngVars, VirtioBlockGuest.RngDescriptorTable, VirtioBlockGuest.RngAvailableRing, VirtioBlockGuest.RngUsedRing, fail);
            VirtioBlockGuest.RngRequest(asm, fail, a => Notify(a, RngVars));
        }

        asm.mov(bl, 0);
        asm.jmp(fail);
        asm.Label(ref noBlock);
        asm.mov(bl, BlockNotFound);
        asm.jmp(fail);
        asm.Label(ref noRng);
        asm.mov(bl, RngNotFound);

        // Exit with BL as the status.
        asm.Label(ref fail);
        ProtectedModeImage.EmitExitWithBl(asm);
    }

    /// <summary>
    /// For the function in EDI: walks the capability list for the virtio structures, sizes the BAR the common structure
    /// names (a 64-bit memory BAR), places it at <paramref name="target"/> with decoding off, turns memory decoding and bus
    /// mastering on, and turns each structure's BAR offset into an address. Clobbers EAX, EBX, ECX, EDX, ESI, EBP.
    /// </summary>
    private static void SetUpFunction(Assembler asm, uint vars, uint target, Label fail)
    {
        for (int type = VirtioPciRegisters.CapCommonCfg; type <= VirtioPciRegisters.CapDeviceCfg; type++)
        {
            asm.mov(__dword_ptr[vars + (uint)(type * sizeof(uint))], PciConfigCycles.AllOnes);
        }

        asm.mov(bl, NoCapabilities);
        Config.Read(asm, CommandRegister);
        asm.test(eax, StatusCapabilitiesInDword);
        asm.jz(fail);

        // The capability list: ESI = the capability, ECX keeps it, EBP counts (a list that loops ends the walk).
        var walk = asm.CreateLabel();
        var next = asm.CreateLabel();
        var notNotify = asm.CreateLabel();
        var notCommon = asm.CreateLabel();
        var walked = asm.CreateLabel();
        asm.mov(esi, (uint)PciHeader.CapabilitiesPointer);
        Config.ReadByteAtEsi(asm);
        asm.mov(esi, eax);
        asm.xor(ebp, ebp);
        asm.Label(ref walk);
        asm.test(esi, esi);
        asm.jz(walked);
        asm.inc(ebp);
        asm.cmp(ebp, MaxCapabilities);
        asm.ja(walked);
        asm.mov(ecx, esi);
        Config.ReadByteAtEsi(asm);
        asm.cmp(eax, (uint)PciCapabilityId.VendorSpecific);
        asm.jne(next);
        asm.lea(esi, __[ecx + VirtioPciRegisters.CapCfgType]);
        Config.ReadByteAtEsi(asm);
        asm.mov(ebx, eax);
        asm.cmp(ebx, (uint)VirtioPciRegisters.CapCommonCfg);
        asm.jb(next);
        asm.cmp(ebx, (uint)VirtioPciRegisters.CapDeviceCfg);
        asm.ja(next);
        asm.lea(esi, __[ecx + VirtioPciRegisters.CapOffset]);
        Config.ReadDwordAtEsi(asm);
        asm.mov(__dword_ptr[ebx * sizeof(uint) + (long)vars], eax);
        asm.cmp(ebx, (uint)VirtioPciRegisters.CapNotifyCfg);
        asm.jne(notNotify);
        asm.lea(esi, __[ecx + VirtioPciRegisters.NotifyOffMultiplierOffset]);
        Config.ReadDwordAtEsi(asm);
        asm.mov(__dword_ptr[vars + MultiplierVar], eax);
        asm.Label(ref notNotify);
        asm.lea(esi, __[ecx + VirtioPciRegisters.CapBar]);
        Config.ReadByteAtEsi(asm);
        asm.cmp(ebx, (uint)VirtioPciRegisters.CapCommonCfg);
        asm.jne(notCommon);
        asm.mov(__dword_ptr[vars + BarIndexVar], eax);
        asm.Label(ref notCommon);
        asm.mov(bl, CapabilityInAnotherBar);
        asm.cmp(eax, __dword_ptr[vars + BarIndexVar]);
        asm.jne(fail);
        asm.Label(ref next);
        asm.lea(esi, __[ecx + PciCapability.NextPointer]);
        Config.ReadByteAtEsi(asm);
        asm.mov(esi, eax);
        asm.jmp(walk);
        asm.Label(ref walked);

        asm.mov(bl, CapabilityMissing);
        for (int type = VirtioPciRegisters.CapCommonCfg; type <= VirtioPciRegisters.CapDeviceCfg; type++)
        {
            asm.cmp(__dword_ptr[vars + (uint)(type * sizeof(uint))], PciConfigCycles.AllOnes);
            asm.je(fail);
        }

        // Size the BAR with decoding off: all ones read back as the size mask with the type bits.
        asm.mov(esi, __dword_ptr[vars + BarIndexVar]);
        asm.shl(esi, 2);
        asm.add(esi, Bar0Register);
        Config.Write16(asm, CommandRegister, 0);
        asm.mov(ebx, PciConfigCycles.AllOnes);
        Config.WriteDwordAtEsi(asm);
        Config.ReadDwordAtEsi(asm);
        asm.mov(ecx, eax);
        asm.and(eax, MemoryTypeBits);
        asm.mov(bl, BarNot64BitMemory);
        asm.cmp(eax, Memory64Type);
        asm.jne(fail);
        asm.and(ecx, MemoryAddressMask);
        asm.neg(ecx);
        asm.mov(bl, BarTooLarge);
        asm.cmp(ecx, MaxBarSize);
        asm.ja(fail);

        // Place it (low then high register), read it back, turn decoding and bus mastering on.
        asm.mov(ebx, target);
        Config.WriteDwordAtEsi(asm);
        asm.add(esi, sizeof(uint));
        asm.xor(ebx, ebx);
        Config.WriteDwordAtEsi(asm);
        asm.sub(esi, sizeof(uint));
        Config.ReadDwordAtEsi(asm);
        asm.and(eax, MemoryAddressMask);
        asm.mov(bl, BarNotAssigned);
        asm.cmp(eax, target);
        asm.jne(fail);
        Config.Write16(asm, CommandRegister, MemoryAndBusMaster);
        for (int type = VirtioPciRegisters.CapCommonCfg; type <= VirtioPciRegisters.CapDeviceCfg; type++)
        {
            asm.add(__dword_ptr[vars + (uint)(type * sizeof(uint))], target);
        }
    }

    // §3.1.1 on the common structure (EBP): reset, ACKNOWLEDGE, DRIVER, VERSION_1 plus the device's bits, FEATURES_OK read back.
    private static void Negotiate(Assembler asm, uint vars, uint lowFeatures, byte refused, Label fail)
    {
        const byte AckDriver = VirtioStatus.Acknowledge | VirtioStatus.Driver;
        asm.mov(ebp, __dword_ptr[vars + (uint)(VirtioPciRegisters.CapCommonCfg * sizeof(uint))]);
        asm.mov(__byte_ptr[ebp + VirtioPciRegisters.DeviceStatus], 0);
        asm.mov(__byte_ptr[ebp + VirtioPciRegisters.DeviceStatus], VirtioStatus.Acknowledge);
        asm.mov(__byte_ptr[ebp + VirtioPciRegisters.DeviceStatus], AckDriver);
        asm.mov(__dword_ptr[ebp + VirtioPciRegisters.DeviceFeatureSelect], 1u);
        asm.mov(eax, __dword_ptr[ebp + VirtioPciRegisters.DeviceFeature]);
        asm.mov(bl, VirtioBlockGuest.NoVersion1);
        asm.test(eax, (uint)(VirtioFeatures.Version1 >> 32));
        asm.jz(fail);
        asm.mov(__dword_ptr[ebp + VirtioPciRegisters.DriverFeatureSelect], 1u);
        asm.mov(__dword_ptr[ebp + VirtioPciRegisters.DriverFeature], (uint)(VirtioFeatures.Version1 >> 32));
        asm.mov(__dword_ptr[ebp + VirtioPciRegisters.DriverFeatureSelect], 0u);
        asm.mov(__dword_ptr[ebp + VirtioPciRegisters.DriverFeature], lowFeatures);
        asm.mov(__byte_ptr[ebp + VirtioPciRegisters.DeviceStatus], AckDriver | VirtioStatus.FeaturesOk);
        asm.movzx(eax, __byte_ptr[ebp + VirtioPciRegisters.DeviceStatus]);
        asm.mov(bl, refused);
        asm.test(eax, VirtioStatus.FeaturesOk);
        asm.jz(fail);
    }

    // Queue 0 at the given rings, its notify address worked out, enabled; then DRIVER_OK. EBP is the common structure.
    private static void SetUpQueue(Assembler asm, uint vars, uint descriptors, uint available, uint used, Label fail)
    {
        const byte Running = VirtioStatus.Acknowledge | VirtioStatus.Driver | VirtioStatus.FeaturesOk | VirtioStatus.DriverOk;
        asm.mov(__word_ptr[ebp + VirtioPciRegisters.QueueSelect], 0);
        asm.movzx(eax, __word_ptr[ebp + VirtioPciRegisters.QueueSize]);
        asm.mov(bl, VirtioBlockGuest.QueueTooSmall);
        asm.cmp(eax, VirtioBlockGuest.QueueSize);
        asm.jb(fail);
        asm.mov(__word_ptr[ebp + VirtioPciRegisters.QueueSize], VirtioBlockGuest.QueueSize);
        foreach (var (field, address) in new[] { (VirtioPciRegisters.QueueDesc, descriptors), (VirtioPciRegisters.QueueDriver, available), (VirtioPciRegisters.QueueDevice, used) })
        {
            asm.mov(__dword_ptr[ebp + field], address);
            asm.mov(__dword_ptr[ebp + field + sizeof(uint)], 0u);
        }

        asm.movzx(eax, __word_ptr[ebp + VirtioPciRegisters.QueueNotifyOff]);
        asm.imul(eax, __dword_ptr[vars + MultiplierVar]);
        asm.add(eax, __dword_ptr[vars + (uint)(VirtioPciRegisters.CapNotifyCfg * sizeof(uint))]);
        asm.mov(__dword_ptr[vars + NotifyAddressVar], eax);
        asm.mov(__word_ptr[ebp + VirtioPciRegisters.QueueEnable], 1);
        asm.mov(__byte_ptr[ebp + VirtioPciRegisters.DeviceStatus], Running);
    }

    // The driver's kick: queue 0's index as a 16-bit write at its notify address.
    private static void Notify(Assembler asm, uint vars)
    {
        asm.mov(edx, __dword_ptr[vars + NotifyAddressVar]);
        asm.mov(__word_ptr[edx], 0);
    }

    // MSI-X is off: the ISR shows the used-buffer interrupt, and the read cleared it.
    private static void ExpectIsr(Assembler asm, Label fail)
    {
        asm.mov(edx, __dword_ptr[BlockVars + (uint)(VirtioPciRegisters.CapIsrCfg * sizeof(uint))]);
        asm.movzx(eax, __byte_ptr[edx]);
        asm.mov(bl, VirtioBlockGuest.NoInterrupt);
        asm.test(eax, VirtioPciRegisters.IsrQueue);
        asm.jz(fail);
        asm.movzx(eax, __byte_ptr[edx]);
        asm.mov(bl, IsrNotCleared);
        asm.test(eax, eax);
        asm.jnz(fail);
    }
}
