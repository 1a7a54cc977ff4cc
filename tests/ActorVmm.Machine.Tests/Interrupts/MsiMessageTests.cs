using ActorVmm.Machine.Interrupts;

namespace ActorVmm.Machine.Tests.Interrupts;

public sealed class MsiMessageTests
{
    private const byte ApicId = 3;
    private const byte Vector = 0x41;

    [Fact]
    public void A_fixed_message_carries_the_destination_in_address_bits_12_to_19_and_the_vector_in_data_bits_0_to_7()
    {
        var message = MsiMessage.Fixed(ApicId, Vector);

        Assert.Equal(MsiMessage.AddressBase | ((ulong)ApicId << MsiMessage.DestinationIdShift), message.Address);
        Assert.Equal((uint)Vector, message.Data);
        Assert.Equal(ApicId, message.DestinationId);
        Assert.Equal(Vector, message.Vector);
        Assert.Equal(MsiDeliveryMode.Fixed, message.DeliveryMode);
        Assert.False(message.IsLogicalDestination);
        Assert.False(message.IsLevelTriggered);
        Assert.True(message.IsInterruptAddress);
        Assert.Equal(0u, message.AddressHigh);
        Assert.Equal((uint)message.Address, message.AddressLow);
    }

    [Fact]
    public void Delivery_mode_destination_mode_and_trigger_mode_are_decoded_from_their_bits()
    {
        var message = new MsiMessage(
            MsiMessage.AddressBase | MsiMessage.DestinationModeLogical,
            ((uint)MsiDeliveryMode.LowestPriority << MsiMessage.DeliveryModeShift) | MsiMessage.TriggerModeLevel | MsiMessage.LevelAssert | Vector);

        Assert.Equal(MsiDeliveryMode.LowestPriority, message.DeliveryMode);
        Assert.True(message.IsLogicalDestination);
        Assert.True(message.IsLevelTriggered);
        Assert.Equal(Vector, message.Vector);
    }

    [Theory]
    [InlineData(0xFED0_0000UL)]
    [InlineData(0xFFE0_0000UL)]
    [InlineData(0x1_FEE0_0000UL)]
    [InlineData(0UL)]
    public void An_address_outside_the_0xFEE_window_is_not_an_interrupt(ulong address)
    {
        Assert.False(new MsiMessage(address, Vector).IsInterruptAddress);
    }
}
