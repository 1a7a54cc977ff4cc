using ActorVmm.Devices.I8042;
using ActorVmm.Devices.Tests.Support;
using static ActorVmm.Devices.I8042.I8042Registers;

namespace ActorVmm.Devices.Tests.I8042;

public sealed class I8042ControllerTests
{
    private const byte AuxLoopPattern = 0x5A;
    private const byte LedsCapsLock = 0b0000_0100;
    private const byte UnknownKeyboardCommand = 0x01;
    private const byte UnknownControllerCommand = 0xC8;
    private const byte PulseNothing = 0xFF;
    private const byte PulseBit1Only = 0xFD;
    private const byte OutputPortCpuReset = OutputPortA20Bit;
    private const byte StaleByte = 0x42;
    private const byte ScanCodeA = 0x1C;

    private readonly RecordingInterruptLine _irq1 = new(KeyboardIrq);
    private readonly RecordingInterruptLine _irq12 = new(AuxIrq);
    private readonly RecordingPowerRequests _power = new();
    private readonly I8042Controller _kbc;

    public I8042ControllerTests()
    {
        _kbc = new I8042Controller(_irq1, _irq12, _power);
    }

    private byte Status => _kbc.Read(CommandOffset);

    private void Command(byte command) => _kbc.Write(CommandOffset, command);

    private void Data(byte value) => _kbc.Write(DataOffset, value);

    private byte ReadOutput()
    {
        Assert.Equal(StatusOutputFull, Status & StatusOutputFull);
        return _kbc.Read(DataOffset);
    }

    private List<byte> DrainOutput()
    {
        var bytes = new List<byte>();
        while ((Status & StatusOutputFull) != 0)
        {
            bytes.Add(_kbc.Read(DataOffset));
        }

        return bytes;
    }

    [Fact]
    public void Self_test_replies_0x55_and_sets_the_system_flag()
    {
        Command(CmdSelfTest);

        Assert.Equal(StatusSystemFlag, Status & StatusSystemFlag);
        Assert.Equal(ReplySelfTestPassed, ReadOutput());
        Assert.Equal(0, Status & StatusOutputFull);
    }

    [Theory]
    [InlineData(CmdKeyboardInterfaceTest)]
    [InlineData(CmdAuxInterfaceTest)]
    public void Interface_tests_report_no_error(byte command)
    {
        Command(command);

        Assert.Equal(ReplyInterfaceTestPassed, ReadOutput());
    }

    [Fact]
    public void Command_byte_starts_as_firmware_leaves_it()
    {
        Command(CmdReadCommandByte);

        Assert.Equal(CtrPowerOn, ReadOutput());
    }

    [Fact]
    public void Command_byte_reads_back_what_was_written()
    {
        const byte Ctr = CtrKeyboardInterrupt | CtrAuxInterrupt | CtrSystemFlag;
        Command(CmdWriteCommandByte);
        Data(Ctr);
        Command(CmdReadCommandByte);

        Assert.Equal(Ctr, ReadOutput());
        Assert.Equal(Ctr, _kbc.CommandByte);
    }

    [Fact]
    public void Status_bit_3_tells_whether_the_last_write_was_a_command()
    {
        Command(CmdWriteCommandByte);
        Assert.Equal(StatusLastWriteWasCommand, Status & StatusLastWriteWasCommand);

        Data(CtrPowerOn);
        Assert.Equal(0, Status & StatusLastWriteWasCommand);
    }

    [Fact]
    public void Keyboard_reset_acks_then_reports_self_test_passed_raising_IRQ1_per_byte()
    {
        Data(Ps2CmdReset);

        Assert.True(_irq1.Level);
        Assert.Equal(Ps2Ack, ReadOutput());
        Assert.Equal(Ps2SelfTestPassed, ReadOutput());
        Assert.False(_irq1.Level);
        Assert.Equal(2, _irq1.RisingEdges);
        Assert.False(_irq12.Level);
    }

    [Theory]
    [InlineData(true, KbdIdSecondTranslated)]
    [InlineData(false, KbdIdSecond)]
    public void Keyboard_identify_reports_an_MF2_keyboard(bool translate, byte secondIdByte)
    {
        Command(CmdWriteCommandByte);
        Data(translate ? CtrPowerOn : (byte)(CtrPowerOn & ~CtrTranslate));

        Data(Ps2CmdGetId);

        Assert.Equal([Ps2Ack, KbdIdFirst, secondIdByte], DrainOutput());
    }

    [Fact]
    public void Set_LEDs_acks_the_command_and_its_argument()
    {
        Data(KbdCmdSetLeds);
        Data(LedsCapsLock);

        Assert.Equal([Ps2Ack, Ps2Ack], DrainOutput());
        Assert.Equal(LedsCapsLock, _kbc.KeyboardLeds);
    }

    [Fact]
    public void Keyboard_disable_and_enable_scanning_are_acknowledged()
    {
        Data(Ps2CmdDisable);
        Assert.False(_kbc.KeyboardScanning);
        Data(Ps2CmdEnable);

        Assert.True(_kbc.KeyboardScanning);
        Assert.Equal([Ps2Ack, Ps2Ack], DrainOutput());
    }

    [Fact]
    public void Keyboard_echo_answers_echo()
    {
        Data(KbdCmdEcho);

        Assert.Equal(KbdCmdEcho, ReadOutput());
    }

    [Fact]
    public void Unknown_keyboard_command_gets_resend()
    {
        Data(UnknownKeyboardCommand);

        Assert.Equal(Ps2Resend, ReadOutput());
    }

    [Fact]
    public void Pulse_reset_command_requests_a_VM_reset()
    {
        Command(CmdPulseReset);

        Assert.Equal([PowerRequestSource.KeyboardControllerReset], _power.Resets);
    }

    [Theory]
    [InlineData(PulseNothing)]
    [InlineData(PulseBit1Only)]
    public void Pulses_that_leave_bit_0_alone_do_not_reset(byte command)
    {
        Command(command);

        Assert.Empty(_power.Resets);
    }

    [Fact]
    public void Output_port_reads_CPU_running_and_A20_on_after_power_on()
    {
        Command(CmdReadOutputPort);

        byte port = ReadOutput();
        Assert.Equal(OutputPortResetBit | OutputPortA20Bit, port & (OutputPortResetBit | OutputPortA20Bit));
    }

    [Fact]
    public void Writing_the_output_port_with_bit_0_clear_requests_a_reset()
    {
        Command(CmdWriteOutputPort);
        Data(OutputPortCpuReset);

        Assert.Equal([PowerRequestSource.KeyboardControllerReset], _power.Resets);
    }

    [Fact]
    public void Aux_disable_and_enable_toggle_command_byte_bit_5()
    {
        Command(CmdAuxEnable);
        Assert.Equal(0, _kbc.CommandByte & CtrAuxDisabled);

        Command(CmdAuxDisable);
        Assert.Equal(CtrAuxDisabled, _kbc.CommandByte & CtrAuxDisabled);
    }

    [Fact]
    public void Aux_loop_returns_the_byte_as_aux_data_and_raises_IRQ12()
    {
        Command(CmdWriteCommandByte);
        Data(CtrKeyboardInterrupt | CtrAuxInterrupt | CtrSystemFlag);

        Command(CmdWriteAuxOutput);
        Data(AuxLoopPattern);

        Assert.Equal(StatusAuxData, Status & StatusAuxData);
        Assert.True(_irq12.Level);
        Assert.False(_irq1.Level);
        Assert.Equal(AuxLoopPattern, ReadOutput());
        Assert.False(_irq12.Level);
    }

    [Fact]
    public void Write_to_aux_reset_gets_ack_self_test_and_mouse_id_as_aux_data()
    {
        Command(CmdAuxEnable);

        Command(CmdWriteAux);
        Data(Ps2CmdReset);

        Assert.Equal(StatusAuxData, Status & StatusAuxData);
        Assert.Equal([Ps2Ack, Ps2SelfTestPassed, AuxIdStandardMouse], DrainOutput());
    }

    [Fact]
    public void Aux_device_bytes_wait_while_the_aux_interface_is_disabled()
    {
        Command(CmdAuxEnable);
        Command(CmdAuxDisable);
        Command(CmdWriteAux);
        Data(Ps2CmdEnable);
        Assert.True(_kbc.AuxReporting);
        Assert.Equal(0, Status & StatusOutputFull);

        Command(CmdAuxEnable);

        Assert.Equal(Ps2Ack, ReadOutput());
    }

    [Fact]
    public void Keyboard_bytes_wait_while_the_keyboard_interface_is_disabled()
    {
        Command(CmdKeyboardDisable);
        Assert.Equal(1, _kbc.EnqueueKeyboardBytes([ScanCodeA]));
        Assert.Equal(0, Status & StatusOutputFull);

        Command(CmdKeyboardEnable);

        Assert.Equal(ScanCodeA, ReadOutput());
    }

    [Fact]
    public void Reading_data_with_an_empty_buffer_returns_the_stale_byte_and_leaves_OBF_clear()
    {
        Command(CmdWriteKeyboardOutput);
        Data(StaleByte);
        Assert.Equal(StaleByte, ReadOutput());

        Assert.Equal(StaleByte, _kbc.Read(DataOffset));
        Assert.Equal(0, Status & StatusOutputFull);
    }

    [Fact]
    public void Unknown_controller_commands_are_ignored()
    {
        Command(UnknownControllerCommand);

        Assert.Equal(0, Status & StatusOutputFull);
        Assert.Empty(_power.Resets);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1)]
    [InlineData(int.MaxValue)]
    public void Offsets_other_than_data_and_command_read_empty_bus_and_ignore_writes(int offset)
    {
        _kbc.Write(offset, CmdSelfTest);

        Assert.Equal(0xFF, _kbc.Read(offset));
        Assert.Equal(0, Status & StatusOutputFull);
    }

    [Fact]
    public void Device_queues_are_bounded_and_report_what_fit()
    {
        byte[] flood = new byte[I8042Controller.DeviceQueueCapacity * 2];

        int accepted = _kbc.EnqueueKeyboardBytes(flood);

        Assert.Equal(I8042Controller.DeviceQueueCapacity, accepted);
        Assert.Equal(I8042Controller.DeviceQueueCapacity, DrainOutput().Count);
    }

    [Fact]
    public void Reset_clears_pending_output_and_interrupts()
    {
        Data(Ps2CmdReset);
        Assert.True(_irq1.Level);

        _kbc.Reset();

        Assert.False(_irq1.Level);
        Assert.Equal(0, Status & StatusOutputFull);
        Assert.Equal(CtrPowerOn, _kbc.CommandByte);
    }

    /// <summary>What Linux's i8042 driver does at boot (i8042_controller_check/selftest/init, i8042_check_aux).</summary>
    [Fact]
    public void Linux_i8042_probe_sequence_finds_controller_keyboard_and_aux_port()
    {
        Assert.Empty(DrainOutput());                                      // i8042_flush

        Command(CmdSelfTest);
        Assert.Equal(ReplySelfTestPassed, ReadOutput());                 // i8042_controller_selftest

        Command(CmdReadCommandByte);
        byte ctr = ReadOutput();
        Command(CmdReadCommandByte);
        Assert.Equal(ctr, ReadOutput());                                 // CTR read twice must agree

        ctr = (byte)((ctr | CtrKeyboardDisabled) & ~CtrKeyboardInterrupt);
        Command(CmdWriteCommandByte);
        Data(ctr);                                                        // interrupts off while probing

        Command(CmdWriteAuxOutput);
        Data(AuxLoopPattern);
        Assert.Equal(StatusAuxData, Status & StatusAuxData);
        Assert.Equal(AuxLoopPattern, ReadOutput());                      // AUX_LOOP works

        Command(CmdAuxDisable);
        Command(CmdReadCommandByte);
        Assert.Equal(CtrAuxDisabled, ReadOutput() & CtrAuxDisabled);     // bit assignment test
        Command(CmdAuxEnable);
        Command(CmdReadCommandByte);
        Assert.Equal(0, ReadOutput() & CtrAuxDisabled);

        Assert.False(_irq1.Level);
        Assert.Empty(_power.Resets);
    }
}
