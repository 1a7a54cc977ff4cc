using ActorVmm.Devices.Pci;
using ActorVmm.Machine.Layout;
using ActorVmm.TestGuests;

namespace ActorVmm.TestSupport.Pci;

/// <summary>
/// The PCI guest (<see cref="PciGuests"/>) aimed at <see cref="PciEchoDevice"/> on the x86 platform, and the check of
/// what it reports: the same on the emulator, on KVM and in the nested lane.
/// </summary>
public static class PciEchoGuest
{
    /// <summary>Where the guest moves the I/O BAR (inside the PCI I/O window, clear of the power-on assignment).</summary>
    public const ushort NewIo = (ushort)(X86MemoryMap.PciIoBase + 0xE00);

    /// <summary>Where the guest moves the 32-bit memory BAR through 0xCF8/0xCFC.</summary>
    public const uint NewMemory32 = (uint)(X86MemoryMap.PciMmioBase + 0x10_0000);

    /// <summary>Where the guest moves the 64-bit memory BAR (below 4 GiB).</summary>
    public const uint NewMemory64 = (uint)(X86MemoryMap.PciMmioBase + 0x20_0000);

    /// <summary>Where the guest moves the 32-bit memory BAR through ECAM.</summary>
    public const uint EcamMemory32 = (uint)(X86MemoryMap.PciMmioBase + 0x30_0000);

    /// <summary>What the guest looks for and where it moves the BARs.</summary>
    public static PciGuestTarget Target { get; } = new(
        (ushort)PciHostBridgeDevice.ConfigAddressPort,
        (ushort)PciHostBridgeDevice.ConfigDataPort,
        (uint)X86MemoryMap.PciConfigBase,
        Ids(PciEchoDevice.VendorId, PciEchoDevice.DeviceId),
        PciEchoDevice.IoBar,
        PciEchoDevice.Memory32Bar,
        PciEchoDevice.Memory64Bar,
        (ushort)(PciCommand.IoSpace | PciCommand.MemorySpace),
        PciEchoDevice.EchoRegister,
        PciEchoDevice.IdentityRegister,
        NewIo,
        NewMemory32,
        NewMemory64,
        EcamMemory32);

    /// <summary>The guest image.</summary>
    public static byte[] Build() => PciGuests.Build(Target);

    /// <summary>A dword read at configuration offset 0: vendor ID in the low half, device ID in the high half.</summary>
    public static uint Ids(ushort vendor, ushort device) => vendor | ((uint)device << 16);

    /// <summary>
    /// Everything wrong with <paramref name="reports"/> (the dwords the guest wrote to its report port, in order) for a VM
    /// of <paramref name="layout"/> with the echo device in slot <paramref name="slot"/>; empty when the guest saw what
    /// the PCI spec and the platform promise.
    /// </summary>
    public static IReadOnlyList<string> Check(IReadOnlyList<uint> reports, MemoryLayout layout, int slot = PciEchoDevice.Slot)
    {
        ArgumentNullException.ThrowIfNull(reports);
        ArgumentNullException.ThrowIfNull(layout);
        var problems = new List<string>();
        var read = new Queue<uint>(reports);
        uint Next(string what)
        {
            if (read.Count == 0)
            {
                problems.Add($"the guest reported nothing for {what}");
                return 0;
            }

            return read.Dequeue();
        }

        void Expect(string what, uint expected, uint actual)
        {
            if (expected != actual)
            {
                problems.Add($"{what}: expected 0x{expected:X8}, got 0x{actual:X8}");
            }
        }

        // 1. Enumeration: exactly the host bridge and the echo device.
        var functions = new List<(uint Device, uint Ids)>();
        for (uint device = Next("enumeration"); device != PciGuests.EnumerationEnd && read.Count > 0 && functions.Count <= PciAddress.DevicesPerBus; device = Next("enumeration"))
        {
            functions.Add((device, Next($"the IDs of device {device}")));
        }

        var expectedFunctions = new List<(uint, uint)> { (0, Ids(PciHostBridge.VendorId, PciHostBridge.DeviceId)), ((uint)slot, Target.Ids) };
        if (!functions.SequenceEqual(expectedFunctions))
        {
            problems.Add($"bus 0 enumerated as [{string.Join(", ", functions.Select(f => $"{f.Device}: 0x{f.Ids:X8}"))}], expected the host bridge at 0 and the echo device at {slot}");
        }

        // 2. Power-on: decoding on, BARs assigned in the platform's windows; sizing reads back the size masks.
        uint decode = Target.DecodeBits;
        Expect("command at power-on", decode, Next("the power-on command register") & decode);
        var originals = new uint[PciGuests.BarRegisters];
        var masks = new uint[PciGuests.BarRegisters];
        for (int bar = 0; bar < PciGuests.BarRegisters; bar++)
        {
            originals[bar] = Next($"BAR {bar}");
            masks[bar] = Next($"the size mask of BAR {bar}");
        }

        var windows = PciBarWindows.X86(layout);
        foreach (var bar in PciEchoDevice.FunctionDefinition.Bars)
        {
            ulong address = (originals[bar.Index] & ~bar.TypeBits) | (bar.Kind == PciBarKind.Memory64 ? (ulong)originals[bar.Index + 1] << 32 : 0);
            var window = windows.For(bar.Kind);
            if (!window.Contains(address) || !window.Contains(address + bar.Size - 1) || address % bar.Size != 0)
            {
                problems.Add($"BAR {bar.Index} was assigned 0x{address:X}, not a 0x{bar.Size:X}-aligned place inside {window}");
            }

            Expect($"type bits of BAR {bar.Index}", bar.TypeBits, originals[bar.Index] & (bar.Kind == PciBarKind.Io ? ~PciBarBits.IoAddressMask : ~PciBarBits.MemoryAddressMask));
            Expect($"size mask of BAR {bar.Index}", bar.LowAddressMask | bar.TypeBits, masks[bar.Index]);
            if (bar.Kind == PciBarKind.Memory64)
            {
                Expect($"size mask of BAR {bar.Index + 1} (high half)", bar.HighAddressMask, masks[bar.Index + 1]);
            }
        }

        for (int unused = PciEchoDevice.Memory64Bar + 2; unused < PciGuests.BarRegisters; unused++)
        {
            Expect($"unimplemented BAR {unused}", 0, originals[unused]);
            Expect($"size mask of unimplemented BAR {unused}", 0, masks[unused]);
        }

        // 3–4. After the move: decoding on, the device at the new places, all ones at the old ones.
        Expect("command after the move", decode, Next("the command register after the move") & decode);
        foreach (int bar in PciEchoDevice.BarIndices)
        {
            Expect($"echo register of BAR {bar} at its new place", PciGuests.EchoValue(bar), Next($"the echo of BAR {bar}"));
            Expect($"identity register of BAR {bar} at its new place", PciEchoDevice.IdentityBase | (uint)bar, Next($"the identity of BAR {bar}"));
        }

        Expect("echo register at the old I/O BAR address", uint.MaxValue, Next("the old I/O address"));
        Expect("echo register at the old 32-bit BAR address", uint.MaxValue, Next("the old 32-bit address"));

        // 5. ECAM.
        Expect("IDs through ECAM", Target.Ids, Next("the IDs through ECAM"));
        Expect("echo register where ECAM moved the 32-bit BAR", PciGuests.EchoValue(PciGuests.EcamEchoTag), Next("the echo after the ECAM move"));
        Expect("echo register where the 32-bit BAR was before the ECAM move", uint.MaxValue, Next("the address before the ECAM move"));
        if (read.Count > 0)
        {
            problems.Add($"the guest reported {read.Count} more value(s) than expected");
        }

        return problems;
    }
}
