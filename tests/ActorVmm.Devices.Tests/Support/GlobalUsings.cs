// The raw form FsCheck generates for a random sequence of device steps (see DeviceStep.From); DoNotSize gives
// values over the whole 64-bit range (a plain ulong stays below FsCheck's size, so wide registers would see only small values).
global using RandomSteps = (byte Kind, byte Target, byte Offset, byte Size, FsCheck.DoNotSize<ulong> Value)[];
