namespace ActorVmm.Devices.I8042;

/// <summary>
/// Ports, status and command-byte bits, controller commands and PS/2 device bytes of the Intel 8042
/// keyboard controller as PCs wire it (names follow Linux's <c>drivers/input/serio/i8042.h</c>).
/// </summary>
public static class I8042Registers
{
    // ---- Ports and state-machine offsets (port - DataPort) -------------------------------------------

    /// <summary>Data port: reads the output buffer, writes go to the keyboard or to a pending command's argument.</summary>
    public const ushort DataPort = 0x60;

    /// <summary>Status register (read) and command register (write).</summary>
    public const ushort CommandPort = 0x64;

    /// <summary>State-machine offset of the data port.</summary>
    public const int DataOffset = 0;

    /// <summary>State-machine offset of the status/command port (0x64 - 0x60).</summary>
    public const int CommandOffset = CommandPort - DataPort;

    /// <summary>Keyboard interrupt (IRQ 1 on a PC).</summary>
    public const int KeyboardIrq = 1;

    /// <summary>Aux (PS/2 mouse) interrupt (IRQ 12 on a PC).</summary>
    public const int AuxIrq = 12;

    // ---- Status register ----------------------------------------------------------------------------

    /// <summary>Status bit 0: output buffer full, a byte waits at port 0x60.</summary>
    public const byte StatusOutputFull = 0b0000_0001;

    /// <summary>Status bit 1: input buffer full (always clear here: every write is processed at once).</summary>
    public const byte StatusInputFull = 0b0000_0010;

    /// <summary>Status bit 2: system flag, set once the controller passed self-test (mirrors command byte bit 2).</summary>
    public const byte StatusSystemFlag = 0b0000_0100;

    /// <summary>Status bit 3: the last write went to the command port (1) or the data port (0).</summary>
    public const byte StatusLastWriteWasCommand = 0b0000_1000;

    /// <summary>Status bit 4: keyboard not inhibited (the keylock switch is unlocked).</summary>
    public const byte StatusKeyboardUnlocked = 0b0001_0000;

    /// <summary>Status bit 5: the byte in the output buffer came from the aux device.</summary>
    public const byte StatusAuxData = 0b0010_0000;

    /// <summary>Status bit 6: general time-out (never set: devices answer at once).</summary>
    public const byte StatusTimeout = 0b0100_0000;

    /// <summary>Status bit 7: parity error (never set).</summary>
    public const byte StatusParityError = 0b1000_0000;

    // ---- Controller command byte (CTR) ----------------------------------------------------------------

    /// <summary>CTR bit 0: raise IRQ 1 when a keyboard byte is in the output buffer.</summary>
    public const byte CtrKeyboardInterrupt = 0b0000_0001;

    /// <summary>CTR bit 1: raise IRQ 12 when an aux byte is in the output buffer.</summary>
    public const byte CtrAuxInterrupt = 0b0000_0010;

    /// <summary>CTR bit 2: system flag, copied to status bit 2.</summary>
    public const byte CtrSystemFlag = 0b0000_0100;

    /// <summary>CTR bit 3: ignore the keylock (obsolete; stored only).</summary>
    public const byte CtrIgnoreKeylock = 0b0000_1000;

    /// <summary>CTR bit 4: keyboard interface disabled.</summary>
    public const byte CtrKeyboardDisabled = 0b0001_0000;

    /// <summary>CTR bit 5: aux interface disabled.</summary>
    public const byte CtrAuxDisabled = 0b0010_0000;

    /// <summary>CTR bit 6: translate keyboard scan codes from set 2 to set 1.</summary>
    public const byte CtrTranslate = 0b0100_0000;

    /// <summary>
    /// The command byte at power-on, as PC firmware leaves it (there is no BIOS here): keyboard interrupt on,
    /// system flag set, translation on, aux interface disabled until the OS enables it.
    /// </summary>
    public const byte CtrPowerOn = CtrKeyboardInterrupt | CtrSystemFlag | CtrAuxDisabled | CtrTranslate;

    // ---- Controller commands (written to port 0x64) --------------------------------------------------

    /// <summary>Read the command byte (controller RAM byte 0).</summary>
    public const byte CmdReadCommandByte = 0x20;

    /// <summary>Last "read controller RAM" command (0x21..0x3F read RAM bytes 1..31).</summary>
    public const byte CmdReadRamLast = 0x3F;

    /// <summary>Write the command byte: the next data-port byte is the new CTR.</summary>
    public const byte CmdWriteCommandByte = 0x60;

    /// <summary>Last "write controller RAM" command (0x61..0x7F write RAM bytes 1..31).</summary>
    public const byte CmdWriteRamLast = 0x7F;

    /// <summary>Password installed test: replies 0xF1 (no password).</summary>
    public const byte CmdPasswordTest = 0xA4;

    /// <summary>Disable the aux interface (sets CTR bit 5).</summary>
    public const byte CmdAuxDisable = 0xA7;

    /// <summary>Enable the aux interface (clears CTR bit 5).</summary>
    public const byte CmdAuxEnable = 0xA8;

    /// <summary>Aux interface test: replies 0x00 (no error).</summary>
    public const byte CmdAuxInterfaceTest = 0xA9;

    /// <summary>Controller self-test: replies 0x55 and sets the system flag.</summary>
    public const byte CmdSelfTest = 0xAA;

    /// <summary>Keyboard interface test: replies 0x00 (no error).</summary>
    public const byte CmdKeyboardInterfaceTest = 0xAB;

    /// <summary>Disable the keyboard interface (sets CTR bit 4).</summary>
    public const byte CmdKeyboardDisable = 0xAD;

    /// <summary>Enable the keyboard interface (clears CTR bit 4).</summary>
    public const byte CmdKeyboardEnable = 0xAE;

    /// <summary>Read the input port.</summary>
    public const byte CmdReadInputPort = 0xC0;

    /// <summary>Read the output port.</summary>
    public const byte CmdReadOutputPort = 0xD0;

    /// <summary>Write the output port: the next data byte; clearing bit 0 resets the system.</summary>
    public const byte CmdWriteOutputPort = 0xD1;

    /// <summary>Write the keyboard output buffer: the next data byte is returned as if the keyboard sent it.</summary>
    public const byte CmdWriteKeyboardOutput = 0xD2;

    /// <summary>Write the aux output buffer ("aux loop"): the next data byte is returned as if the aux device sent it.</summary>
    public const byte CmdWriteAuxOutput = 0xD3;

    /// <summary>Write to the aux device: the next data byte is sent to the mouse.</summary>
    public const byte CmdWriteAux = 0xD4;

    /// <summary>Read test inputs (keyboard clock and data lines): replies 0x00.</summary>
    public const byte CmdReadTestInputs = 0xE0;

    /// <summary>First "pulse output port" command: 0xF0..0xFF pulse the output-port bits whose low-nibble bit is 0.</summary>
    public const byte CmdPulseFirst = 0xF0;

    /// <summary>Pulse output-port bit 0 low: the classic "reset the CPU" command.</summary>
    public const byte CmdPulseReset = 0xFE;

    // ---- Replies --------------------------------------------------------------------------------------

    /// <summary>Controller self-test passed.</summary>
    public const byte ReplySelfTestPassed = 0x55;

    /// <summary>Interface test passed.</summary>
    public const byte ReplyInterfaceTestPassed = 0x00;

    /// <summary>Password test: no password installed.</summary>
    public const byte ReplyNoPassword = 0xF1;

    // ---- Output port ----------------------------------------------------------------------------------

    /// <summary>Output port bit 0: system reset line (active low: 0 resets the CPU).</summary>
    public const byte OutputPortResetBit = 0b0000_0001;

    /// <summary>Output port bit 1: A20 gate (always effectively on: memory never wraps at 1 MiB here).</summary>
    public const byte OutputPortA20Bit = 0b0000_0010;

    /// <summary>Output port bit 4: keyboard output buffer full (the IRQ 1 line).</summary>
    public const byte OutputPortKeyboardFullBit = 0b0001_0000;

    /// <summary>Output port bit 5: aux output buffer full (the IRQ 12 line).</summary>
    public const byte OutputPortAuxFullBit = 0b0010_0000;

    /// <summary>Output port bits 6..7: keyboard clock and data lines (idle high).</summary>
    public const byte OutputPortKeyboardLines = 0b1100_0000;

    /// <summary>Output port at power-on: CPU running, A20 on, keyboard lines idle.</summary>
    public const byte OutputPortPowerOn = OutputPortResetBit | OutputPortA20Bit | OutputPortKeyboardLines;

    /// <summary>Input port value: bit 7 set = keyboard not inhibited, bit 5 clear = no manufacturing jumper.</summary>
    public const byte InputPortValue = 0b1000_0000;

    // ---- PS/2 device protocol --------------------------------------------------------------------------

    /// <summary>Device acknowledge.</summary>
    public const byte Ps2Ack = 0xFA;

    /// <summary>Device asks for the byte again (unknown command or bad argument).</summary>
    public const byte Ps2Resend = 0xFE;

    /// <summary>Basic assurance test passed (sent after a reset).</summary>
    public const byte Ps2SelfTestPassed = 0xAA;

    /// <summary>Reset command (keyboard and mouse): ACK, then 0xAA (the mouse adds its ID 0x00).</summary>
    public const byte Ps2CmdReset = 0xFF;

    /// <summary>Resend the last byte.</summary>
    public const byte Ps2CmdResend = 0xFE;

    /// <summary>Restore defaults.</summary>
    public const byte Ps2CmdSetDefaults = 0xF6;

    /// <summary>Disable scanning / data reporting.</summary>
    public const byte Ps2CmdDisable = 0xF5;

    /// <summary>Enable scanning / data reporting.</summary>
    public const byte Ps2CmdEnable = 0xF4;

    /// <summary>Set typematic rate (keyboard) or sample rate (mouse); takes an argument byte.</summary>
    public const byte Ps2CmdSetRate = 0xF3;

    /// <summary>Identify / get device ID.</summary>
    public const byte Ps2CmdGetId = 0xF2;

    /// <summary>Keyboard: get or set scan code set (argument 0 = get). Mouse: set remote mode.</summary>
    public const byte Ps2CmdScanCodeSetOrRemote = 0xF0;

    /// <summary>Keyboard echo: the keyboard answers 0xEE.</summary>
    public const byte KbdCmdEcho = 0xEE;

    /// <summary>Keyboard: set LEDs; takes an argument byte.</summary>
    public const byte KbdCmdSetLeds = 0xED;

    /// <summary>First byte of an MF2 keyboard's ID.</summary>
    public const byte KbdIdFirst = 0xAB;

    /// <summary>Second byte of an MF2 keyboard's ID, untranslated.</summary>
    public const byte KbdIdSecond = 0x83;

    /// <summary>Second byte of an MF2 keyboard's ID as a translating controller delivers it.</summary>
    public const byte KbdIdSecondTranslated = 0x41;

    /// <summary>Mouse: set resolution; takes an argument byte.</summary>
    public const byte AuxCmdSetResolution = 0xE8;

    /// <summary>Mouse: status request; ACK then three status bytes.</summary>
    public const byte AuxCmdStatusRequest = 0xE9;

    /// <summary>Mouse: read data; ACK then one (motionless) movement packet.</summary>
    public const byte AuxCmdReadData = 0xEB;

    /// <summary>Mouse ID of a standard PS/2 mouse (no wheel).</summary>
    public const byte AuxIdStandardMouse = 0x00;

    /// <summary>Keyboard scan code set after reset or set-defaults (set 2).</summary>
    public const byte KbdDefaultScanCodeSet = 2;

    /// <summary>Keyboard typematic byte after reset or set-defaults: 10.9 characters/s after 500 ms.</summary>
    public const byte KbdDefaultTypematic = 0b0010_1011;

    /// <summary>Mouse sample rate after reset or set-defaults, in samples per second.</summary>
    public const byte AuxDefaultSampleRate = 100;

    /// <summary>Mouse resolution code after reset or set-defaults (4 counts/mm).</summary>
    public const byte AuxDefaultResolution = 2;
}
