using static ActorVmm.Devices.I8042.I8042Registers;

namespace ActorVmm.Devices.I8042;

/// <summary>
/// The PS/2 keyboard behind the controller: answers the commands Linux's atkbd driver sends (reset, identify,
/// LEDs, typematic, scan code set, enable/disable, echo). It has no keys: host key input is out of scope.
/// </summary>
internal sealed class Ps2Keyboard(Ps2ByteQueue replies)
{
    private byte _awaitingArgumentFor;
    private byte _lastSent = Ps2Ack;

    public bool ScanningEnabled { get; private set; } = true;

    public byte Leds { get; private set; }

    public byte Typematic { get; private set; } = KbdDefaultTypematic;

    public byte ScanCodeSet { get; private set; } = KbdDefaultScanCodeSet;

    public Ps2KeyboardState CaptureState() => new(_awaitingArgumentFor, _lastSent, ScanningEnabled, Leds, Typematic, ScanCodeSet);

    public void LoadState(Ps2KeyboardState state)
    {
        _awaitingArgumentFor = state.AwaitingArgumentFor;
        _lastSent = state.LastSent;
        ScanningEnabled = state.ScanningEnabled;
        Leds = state.Leds;
        Typematic = state.Typematic;
        ScanCodeSet = state.ScanCodeSet;
    }

    public void Reset()
    {
        _awaitingArgumentFor = 0;
        _lastSent = Ps2Ack;
        SetDefaults();
        ScanningEnabled = true;
    }

    /// <summary>Takes one byte the host sent to the keyboard.</summary>
    public void Receive(byte value, bool translate)
    {
        if (_awaitingArgumentFor != 0)
        {
            ReceiveArgument(value);
            return;
        }

        switch (value)
        {
            case Ps2CmdReset:
                SetDefaults();
                ScanningEnabled = true;
                Send(Ps2Ack);
                Send(Ps2SelfTestPassed);
                break;
            case Ps2CmdResend:
                Send(_lastSent);
                break;
            case Ps2CmdSetDefaults:
                SetDefaults();
                Send(Ps2Ack);
                break;
            case Ps2CmdDisable:
                SetDefaults();
                ScanningEnabled = false;
                Send(Ps2Ack);
                break;
            case Ps2CmdEnable:
                ScanningEnabled = true;
                Send(Ps2Ack);
                break;
            case Ps2CmdGetId:
                Send(Ps2Ack);
                Send(KbdIdFirst);
                Send(translate ? KbdIdSecondTranslated : KbdIdSecond);
                break;
            case KbdCmdEcho:
                Send(KbdCmdEcho);
                break;
            case KbdCmdSetLeds or Ps2CmdSetRate or Ps2CmdScanCodeSetOrRemote:
                _awaitingArgumentFor = value;
                Send(Ps2Ack);
                break;
            case >= 0xF7 and <= 0xFD:
                // Scan-code-set-3 key attribute commands: accepted, no effect without keys.
                Send(Ps2Ack);
                break;
            default:
                Send(Ps2Resend);
                break;
        }
    }

    private void ReceiveArgument(byte value)
    {
        byte command = _awaitingArgumentFor;
        _awaitingArgumentFor = 0;
        switch (command)
        {
            case KbdCmdSetLeds:
                Leds = value;
                Send(Ps2Ack);
                break;
            case Ps2CmdSetRate:
                Typematic = value;
                Send(Ps2Ack);
                break;
            case Ps2CmdScanCodeSetOrRemote when value == 0:
                Send(Ps2Ack);
                Send(ScanCodeSet);
                break;
            case Ps2CmdScanCodeSetOrRemote when value <= 3:
                ScanCodeSet = value;
                Send(Ps2Ack);
                break;
            default:
                Send(Ps2Resend);
                break;
        }
    }

    private void SetDefaults()
    {
        Leds = 0;
        Typematic = KbdDefaultTypematic;
        ScanCodeSet = KbdDefaultScanCodeSet;
    }

    private void Send(byte value)
    {
        _lastSent = value;
        replies.Enqueue(value);
    }
}
