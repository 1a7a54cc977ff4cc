using System.Runtime.InteropServices;
using ActorVmm.Kvm.Interop;
using ActorVmm.Machine.Interrupts;
using static ActorVmm.Kvm.Interop.KvmConstants;

namespace ActorVmm.Kvm;

/// <summary>
/// The VM's whole GSI routing table as KVM_SET_GSI_ROUTING takes it. That ioctl replaces the table,
/// so every set carries KVM's default irqchip routes for GSIs 0–23 (what KVM_CREATE_IRQCHIP installs:
/// each of GSIs 0–15 to its IOAPIC pin and its 8259 pin, GSIs 16–23 to IOAPIC pins only, as
/// arch/x86/kvm's default_routing[]) plus one MSI entry per route, as kvmtool does. MSI routes take
/// GSIs from <see cref="FirstMsiGsi"/> up: KVM refuses a GSI mapped to both an irqchip and an MSI.
/// Not thread-safe: <see cref="KvmInterruptRouter"/> serializes changes.
/// </summary>
internal sealed class KvmGsiRoutingTable
{
    /// <summary>GSIs wired to the in-kernel irqchip (the IOAPIC's pins).</summary>
    public const int IrqchipGsis = KVM_IOAPIC_NUM_PINS;

    /// <summary>The first GSI an MSI route can take.</summary>
    public const int FirstMsiGsi = IrqchipGsis;

    /// <summary>GSIs 0–15 are the ISA IRQs, also wired to the 8259 pair.</summary>
    private const int IsaIrqs = 16;

    /// <summary>Inputs per 8259.</summary>
    private const int PicPins = 8;

    private readonly SortedDictionary<int, MsiMessage> _msiRoutes = [];

    /// <summary>Creates a table; <paramref name="maxRoutes"/> is KVM_CHECK_EXTENSION(KVM_CAP_IRQ_ROUTING), the kernel's KVM_MAX_IRQ_ROUTES.</summary>
    public KvmGsiRoutingTable(int maxRoutes)
    {
        if (maxRoutes <= DefaultRoutes.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(maxRoutes), maxRoutes, $"KVM must allow more than the {DefaultRoutes.Count} default routes");
        }

        MaxRoutes = maxRoutes;
    }

    /// <summary>KVM's default routes, in its order (IOAPIC entry first for GSIs 0–15).</summary>
    public static IReadOnlyList<kvm_irq_routing_entry> DefaultRoutes { get; } = BuildDefaults();

    /// <summary>Most entries (and highest GSI + 1) the kernel accepts.</summary>
    public int MaxRoutes { get; }

    /// <summary>MSI routes in the table.</summary>
    public int MsiRouteCount => _msiRoutes.Count;

    /// <summary>The lowest free MSI GSI.</summary>
    /// <exception cref="InvalidOperationException">The kernel's route limit is reached.</exception>
    public int AllocateGsi()
    {
        if (DefaultRoutes.Count + _msiRoutes.Count >= MaxRoutes)
        {
            throw new InvalidOperationException($"All {MaxRoutes - DefaultRoutes.Count} MSI routes KVM allows next to its {DefaultRoutes.Count} default routes are in use");
        }

        int gsi = FirstMsiGsi;
        foreach (int used in _msiRoutes.Keys)
        {
            if (used != gsi)
            {
                break;
            }

            gsi++;
        }

        return gsi;
    }

    /// <summary>Sets (adds or replaces) the message of an MSI route.</summary>
    public void SetMsi(int gsi, MsiMessage message)
    {
        if (gsi < FirstMsiGsi || gsi >= MaxRoutes)
        {
            throw new ArgumentOutOfRangeException(nameof(gsi), gsi, $"MSI routes use GSIs {FirstMsiGsi}..{MaxRoutes - 1}");
        }

        _msiRoutes[gsi] = message;
    }

    /// <summary>The message of an MSI route, if the GSI has one.</summary>
    public bool TryGetMsi(int gsi, out MsiMessage message) => _msiRoutes.TryGetValue(gsi, out message);

    /// <summary>Removes an MSI route; false when the GSI had none.</summary>
    public bool Remove(int gsi) => _msiRoutes.Remove(gsi);

    /// <summary>
    /// The entries the kernel gets: the defaults, then one MSI entry per route in GSI order. A route whose
    /// message lies outside the interrupt window gets no entry, so its irqfd delivers nothing.
    /// </summary>
    public kvm_irq_routing_entry[] Entries()
    {
        var entries = new List<kvm_irq_routing_entry>(DefaultRoutes.Count + _msiRoutes.Count);
        entries.AddRange(DefaultRoutes);
        foreach (var (gsi, message) in _msiRoutes)
        {
            if (!message.IsInterruptAddress)
            {
                continue;
            }

            var entry = new kvm_irq_routing_entry { gsi = (uint)gsi, type = KVM_IRQ_ROUTING_MSI };
            entry.u.msi = new kvm_irq_routing_msi { address_lo = message.AddressLow, address_hi = message.AddressHigh, data = message.Data };
            entries.Add(entry);
        }

        return [.. entries];
    }

    /// <summary>The KVM_SET_GSI_ROUTING argument: struct kvm_irq_routing with its entries behind it.</summary>
    public byte[] Build() => Serialize(Entries());

    /// <summary>Lays out a header and its entries exactly as the kernel reads them.</summary>
    public static byte[] Serialize(ReadOnlySpan<kvm_irq_routing_entry> entries)
    {
        int header = Marshal.SizeOf<kvm_irq_routing>();
        byte[] buffer = new byte[KvmVariableLength.Size<kvm_irq_routing, kvm_irq_routing_entry>(entries.Length)];
        MemoryMarshal.Write(buffer, new kvm_irq_routing { nr = (uint)entries.Length, flags = 0 });
        MemoryMarshal.AsBytes(entries).CopyTo(buffer.AsSpan(header));
        return buffer;
    }

    /// <summary>Reads back a buffer built by <see cref="Serialize"/> (tests, the fake kernel).</summary>
    public static kvm_irq_routing_entry[] Deserialize(ReadOnlySpan<byte> routing)
    {
        var head = MemoryMarshal.Read<kvm_irq_routing>(routing);
        var body = routing[Marshal.SizeOf<kvm_irq_routing>()..];
        if ((ulong)head.nr * (ulong)Marshal.SizeOf<kvm_irq_routing_entry>() > (ulong)body.Length)
        {
            throw new ArgumentException($"The routing header claims {head.nr} entries but the buffer holds {body.Length} bytes of entries");
        }

        return MemoryMarshal.Cast<byte, kvm_irq_routing_entry>(body)[..(int)head.nr].ToArray();
    }

    private static kvm_irq_routing_entry[] BuildDefaults()
    {
        var entries = new List<kvm_irq_routing_entry>();
        for (int gsi = 0; gsi < IrqchipGsis; gsi++)
        {
            entries.Add(Irqchip(gsi, KVM_IRQCHIP_IOAPIC, gsi));
            if (gsi < IsaIrqs)
            {
                entries.Add(Irqchip(gsi, gsi < PicPins ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, gsi % PicPins));
            }
        }

        return [.. entries];
    }

    private static kvm_irq_routing_entry Irqchip(int gsi, uint chip, int pin)
    {
        var entry = new kvm_irq_routing_entry { gsi = (uint)gsi, type = KVM_IRQ_ROUTING_IRQCHIP };
        entry.u.irqchip = new kvm_irq_routing_irqchip { irqchip = chip, pin = (uint)pin };
        return entry;
    }
}
