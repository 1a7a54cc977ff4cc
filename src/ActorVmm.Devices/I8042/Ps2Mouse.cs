using static ActorVmm.Devices.I8042.I8042Registers;

namespace ActorVmm.Devices.I8042;

/// <summary>
/// A standard PS/2 mouse on the aux port that never moves: it answers the commands Linux's psmouse driver
/// sends so that the aux port probes as a bare PS/2 mouse. No movement is ever reported.
/// </summary>
internal sealed class Ps2Mouse(Ps2ByteQueue replies)
{
    private const byte ScalingOneToOne = 0xE6;
    private const byte ScalingTwoToOne = 0xE7;
    private const byte StreamMode = 0xEA;
    private const byte ResetWrapMode = 0xEC;
    private const byte SetWrapMode = 0xEE;
    private const byte StatusRemoteModeBit = 0b0100_0000;
    private const byte StatusReportingBit = 0b0010_0000;
    private const byte StatusScaling21Bit = 0b0001_0000;
    private const byte PacketAlwaysOneBit = 0b0000_1000;

    private byte _awaitingArgumentFor;
    private byte _lastSent = Ps2Ack;

    public byte SampleRate { get; private set; } = AuxDefaultSampleRate;

    public byte Resolution { get; private set; } = AuxDefaultResolution;

    public bool ReportingEnabled { get; private set; }

    public bool RemoteMode { get; private set; }

    public bool ScalingTwoToOneEnabled { get; private set; }

    public Ps2MouseState CaptureState() =>
        new(_awaitingArgumentFor, _lastSent, SampleRate, Resolution, ReportingEnabled, RemoteMode, ScalingTwoToOneEnabled);

    public void LoadState(Ps2MouseState state)
    {
        _awaitingArgumentFor = state.AwaitingArgumentFor;
        _lastSent = state.LastSent;
        SampleRate = state.SampleRate;
        Resolution = state.Resolution;
        ReportingEnabled = state.ReportingEnabled;
        RemoteMode = state.RemoteMode;
        ScalingTwoToOneEnabled = state.ScalingTwoToOne;
    }

    public void Reset()
    {
        _awaitingArgumentFor = 0;
        _lastSent = Ps2Ack;
        SetDefaults();
    }

    /// <summary>Takes one byte the host sent to the mouse (through controller command 0xD4).</summary>
    public void Receive(byte value)
    {
        if (_awaitingArgumentFor != 0)
        {
            if (_awaitingArgumentFor == Ps2CmdSetRate)
            {
                SampleRate = value;
            }
            else
            {
                Resolution = value;
            }

            _awaitingArgumentFor = 0;
            Send(Ps2Ack);
            return;
        }

        switch (value)
        {
            case Ps2CmdReset:
                SetDefaults();
                Send(Ps2Ack);
                Send(Ps2SelfTestPassed);
                Send(AuxIdStandardMouse);
                break;
            case Ps2CmdResend:
                Send(_lastSent);
                break;
            case Ps2CmdSetDefaults:
                SetDefaults();
                Send(Ps2Ack);
                break;
            case Ps2CmdDisable:
                ReportingEnabled = false;
                Send(Ps2Ack);
                break;
            case Ps2CmdEnable:
                ReportingEnabled = true;
                Send(Ps2Ack);
                break;
            case Ps2CmdSetRate or AuxCmdSetResolution:
                _awaitingArgumentFor = value;
                Send(Ps2Ack);
                break;
            case Ps2CmdGetId:
                Send(Ps2Ack);
                Send(AuxIdStandardMouse);
                break;
            case Ps2CmdScanCodeSetOrRemote:
                RemoteMode = true;
                Send(Ps2Ack);
                break;
            case StreamMode:
                RemoteMode = false;
                Send(Ps2Ack);
                break;
            case ScalingOneToOne or ScalingTwoToOne:
                ScalingTwoToOneEnabled = value == ScalingTwoToOne;
                Send(Ps2Ack);
                break;
            case AuxCmdStatusRequest:
                Send(Ps2Ack);
                Send(StatusByte());
                Send(Resolution);
                Send(SampleRate);
                break;
            case AuxCmdReadData:
                // One motionless packet: no buttons, no movement (bit 3 is always one).
                Send(Ps2Ack);
                Send(PacketAlwaysOneBit);
                Send(0);
                Send(0);
                break;
            case ResetWrapMode or SetWrapMode:
                // Wrap (echo) mode is not emulated; acknowledged so probes move on.
                Send(Ps2Ack);
                break;
            default:
                Send(Ps2Resend);
                break;
        }
    }

    private byte StatusByte()
    {
        byte status = 0;
        if (RemoteMode)
        {
            status |= StatusRemoteModeBit;
        }

        if (ReportingEnabled)
        {
            status |= StatusReportingBit;
        }

        if (ScalingTwoToOneEnabled)
        {
            status |= StatusScaling21Bit;
        }

        return status;
    }

    private void SetDefaults()
    {
        SampleRate = AuxDefaultSampleRate;
        Resolution = AuxDefaultResolution;
        ReportingEnabled = false;
        RemoteMode = false;
        ScalingTwoToOneEnabled = false;
    }

    private void Send(byte value)
    {
        _lastSent = value;
        replies.Enqueue(value);
    }
}
