using Iced.Intel;

namespace ActorVmm.Emulator.Cpu;

/// <summary>An Iced code reader over host memory the caller has bounds-checked (a guest page or a small buffer).</summary>
internal sealed unsafe class PointerCodeReader : CodeReader
{
    private byte* _ptr;
    private int _length;
    private int _position;

    /// <summary>Points the reader at <paramref name="length"/> readable bytes.</summary>
    public void Reset(byte* ptr, int length)
    {
        _ptr = ptr;
        _length = length;
        _position = 0;
    }

    /// <inheritdoc />
    public override int ReadByte()
    {
        // Safe: Reset's caller guarantees [_ptr, _ptr + _length) is readable and stays mapped while decoding.
        return _position < _length ? _ptr[_position++] : -1;
    }
}
