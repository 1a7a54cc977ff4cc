namespace ActorVmm.Emulator.Apic;

/// <summary>What a local APIC sends out: IPIs from its ICR and EOI broadcasts of level-triggered vectors (to the IOAPIC).</summary>
internal interface IApicBus
{
    /// <summary>Sends the IPI written to <paramref name="sourceId"/>'s ICR (low half <paramref name="command"/>, destination from the high half).</summary>
    void SendIpi(int sourceId, uint command, byte destination);

    /// <summary>An EOI retired a level-triggered <paramref name="vector"/>: the IOAPIC clears the remote IRR of the pins using it.</summary>
    void BroadcastEoi(byte vector);
}
