using static ActorVmm.Devices.I8042.I8042Registers;

namespace ActorVmm.Devices.I8042;

/// <summary>
/// The i8042's guest-visible state with its PS/2 keyboard and mouse: controller RAM (the command byte is byte 0),
/// status and output-port bits, the command waiting for its data byte, the output buffer, the three queues that
/// refill it and both interrupt levels. The IRQ lines and the power control are wiring, not state.
/// </summary>
/// <param name="Ram">The 32 bytes of controller RAM; byte 0 is the command byte (CTR).</param>
/// <param name="Status">The stored status bits (system flag, command/data, keyboard unlocked); OBF and AUXDATA follow the output buffer.</param>
/// <param name="OutputPort">The output port without its buffer-full bits, which follow the output buffer.</param>
/// <param name="PendingCommand">The controller command waiting for its data byte, or 0.</param>
/// <param name="OutputBuffer">The byte at port 0x60 (stale once read).</param>
/// <param name="OutputFull">OBF: the output buffer holds an unread byte.</param>
/// <param name="OutputFromAux">The output buffer's byte came from the aux side.</param>
/// <param name="KeyboardIrqAsserted">IRQ 1 level.</param>
/// <param name="AuxIrqAsserted">IRQ 12 level.</param>
/// <param name="ControllerReplies">Controller replies waiting for the output buffer, oldest first.</param>
/// <param name="KeyboardQueue">Bytes the keyboard sent, oldest first.</param>
/// <param name="AuxQueue">Bytes the mouse sent, oldest first.</param>
/// <param name="Keyboard">The PS/2 keyboard.</param>
/// <param name="Mouse">The PS/2 mouse.</param>
public sealed record I8042State(
    StateArray<byte> Ram,
    byte Status,
    byte OutputPort,
    byte PendingCommand,
    byte OutputBuffer,
    bool OutputFull,
    bool OutputFromAux,
    bool KeyboardIrqAsserted,
    bool AuxIrqAsserted,
    StateArray<I8042Reply> ControllerReplies,
    StateArray<byte> KeyboardQueue,
    StateArray<byte> AuxQueue,
    Ps2KeyboardState Keyboard,
    Ps2MouseState Mouse) : DeviceState
{
    /// <summary>Bytes of controller RAM.</summary>
    public const int RamSize = 32;

    /// <summary>The status bits the controller stores; the others follow the output buffer or never show.</summary>
    public const byte StoredStatusBits = StatusSystemFlag | StatusLastWriteWasCommand | StatusKeyboardUnlocked;

    private const byte OutputPortBufferBits = OutputPortKeyboardFullBit | OutputPortAuxFullBit;

    /// <inheritdoc />
    public override void Validate()
    {
        int capacity = I8042Controller.DeviceQueueCapacity;
        Require(Ram.Length == RamSize, $"controller RAM holds {Ram.Length} bytes, not {RamSize}");
        Require((Status & ~StoredStatusBits) == 0, $"status 0x{Status:X2} stores bits that follow the output buffer");
        Require((Status & StatusKeyboardUnlocked) != 0, "the keylock is locked, which nothing can do");
        Require((OutputPort & OutputPortBufferBits) == 0, $"output port 0x{OutputPort:X2} stores the buffer-full bits");
        Require((OutputPort & OutputPortResetBit) != 0, "the output port holds the CPU in reset");
        Require(IsDataCommand(PendingCommand), $"0x{PendingCommand:X2} is not a command that takes a data byte");
        Require(ControllerReplies.Length <= capacity, $"{ControllerReplies.Length} controller replies exceed {capacity}");
        Require(KeyboardQueue.Length <= capacity, $"{KeyboardQueue.Length} keyboard bytes exceed {capacity}");
        Require(AuxQueue.Length <= capacity, $"{AuxQueue.Length} aux bytes exceed {capacity}");

        byte ctr = Ram[0];
        Require(
            OutputFull || (ControllerReplies.Length == 0
                && ((ctr & CtrKeyboardDisabled) != 0 || KeyboardQueue.Length == 0)
                && ((ctr & CtrAuxDisabled) != 0 || AuxQueue.Length == 0)),
            "the output buffer is empty while a byte waits that would have filled it");
        Require(
            KeyboardIrqAsserted == (OutputFull && !OutputFromAux && (ctr & CtrKeyboardInterrupt) != 0),
            "IRQ 1 disagrees with the output buffer and the command byte");
        Require(
            AuxIrqAsserted == (OutputFull && OutputFromAux && (ctr & CtrAuxInterrupt) != 0),
            "IRQ 12 disagrees with the output buffer and the command byte");

        Require(Keyboard is not null, "the keyboard is missing");
        Require(
            Keyboard!.AwaitingArgumentFor is 0 or KbdCmdSetLeds or Ps2CmdSetRate or Ps2CmdScanCodeSetOrRemote,
            $"the keyboard waits for an argument of 0x{Keyboard.AwaitingArgumentFor:X2}, which takes none");
        Require(Keyboard.ScanCodeSet is >= 1 and <= 3, $"scan code set {Keyboard.ScanCodeSet} is not 1..3");
        Require(Mouse is not null, "the mouse is missing");
        Require(
            Mouse!.AwaitingArgumentFor is 0 or Ps2CmdSetRate or AuxCmdSetResolution,
            $"the mouse waits for an argument of 0x{Mouse.AwaitingArgumentFor:X2}, which takes none");
    }

    private static bool IsDataCommand(byte command) =>
        command is 0 or (>= CmdWriteCommandByte and <= CmdWriteRamLast)
            or CmdWriteOutputPort or CmdWriteKeyboardOutput or CmdWriteAuxOutput or CmdWriteAux;
}

/// <summary>A controller reply waiting for the output buffer.</summary>
/// <param name="Value">The byte.</param>
/// <param name="FromAux">It shows as aux data (command 0xD3).</param>
public readonly record struct I8042Reply(byte Value, bool FromAux);

/// <summary>The PS/2 keyboard's state.</summary>
/// <param name="AwaitingArgumentFor">The command waiting for its argument byte, or 0.</param>
/// <param name="LastSent">The last byte sent (what resend repeats).</param>
/// <param name="ScanningEnabled">Scanning enabled.</param>
/// <param name="Leds">LED state.</param>
/// <param name="Typematic">Typematic rate and delay.</param>
/// <param name="ScanCodeSet">Scan code set 1–3.</param>
public sealed record Ps2KeyboardState(byte AwaitingArgumentFor, byte LastSent, bool ScanningEnabled, byte Leds, byte Typematic, byte ScanCodeSet);

/// <summary>The PS/2 mouse's state.</summary>
/// <param name="AwaitingArgumentFor">The command waiting for its argument byte, or 0.</param>
/// <param name="LastSent">The last byte sent (what resend repeats).</param>
/// <param name="SampleRate">Samples per second.</param>
/// <param name="Resolution">Resolution code.</param>
/// <param name="ReportingEnabled">Data reporting enabled.</param>
/// <param name="RemoteMode">Remote (polled) rather than stream mode.</param>
/// <param name="ScalingTwoToOne">2:1 scaling.</param>
public sealed record Ps2MouseState(byte AwaitingArgumentFor, byte LastSent, byte SampleRate, byte Resolution, bool ReportingEnabled, bool RemoteMode, bool ScalingTwoToOne);
