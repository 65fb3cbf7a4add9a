using System.Buffers;

namespace Filter.Audit.Formats;

/// <summary>
/// Splits one stream into lines in a pooled buffer, with a vectorised newline search and a bounded line
/// length: a longer line is skipped a buffer at a time, never held whole. The same scheme as
/// <see cref="JsonLinesReader"/>'s line layer (candidate for sharing once both settle).
/// </summary>
internal sealed class AuditdLines : IDisposable
{
    private const int InitialBufferSize = 256 * 1024;

    private readonly Stream _input;
    private readonly int _maxLineBytes;
    private byte[]? _buffer;
    // _buffer[_start.._end) holds unread input; _buffer[_start.._scan) is known to hold no '\n'.
    private int _start, _scan, _end;
    private bool _eof;
    private int _lineStart, _lineLength;

    public AuditdLines(Stream input, int maxLineBytes)
    {
        _input = input;
        _maxLineBytes = maxLineBytes;
        _buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(InitialBufferSize, maxLineBytes + 1L));
    }

    /// <summary>The line just read, without its '\n' (a '\r' stays). Valid until the next <see cref="Next"/>.</summary>
    public ReadOnlySpan<byte> Line => _buffer.AsSpan(_lineStart, _lineLength);

    /// <summary>
    /// Moves to the next line. Returns false at the end of input. An over-long line is skipped: the result
    /// is true, <see cref="Line"/> is empty and <paramref name="overLongBytes"/> holds its length.
    /// </summary>
    public bool Next(out long overLongBytes)
    {
        var buffer = _buffer!;
        overLongBytes = 0;
        while (true)
        {
            int newline = buffer.AsSpan(_scan, _end - _scan).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                newline += _scan;
                int length = newline - _start;
                _lineStart = _start;
                _lineLength = length > _maxLineBytes ? 0 : length;
                if (length > _maxLineBytes) overLongBytes = length;
                _start = _scan = newline + 1;
                return true;
            }
            _scan = _end;
            int pending = _end - _start;
            if (pending > _maxLineBytes)
            {
                overLongBytes = SkipRestOfLine(pending);
                _lineStart = _lineLength = 0;
                return true;
            }
            if (_eof)
            {
                if (pending == 0)
                {
                    _lineStart = _lineLength = 0;
                    return false;
                }
                // A last line without '\n' (a truncated log): still a line.
                _lineStart = _start;
                _lineLength = pending;
                _start = _scan = _end;
                return true;
            }
            Fill();
            buffer = _buffer!;
        }
    }

    /// <summary>Reads more input after the unread bytes, compacting or growing (up to the line limit) first.</summary>
    private void Fill()
    {
        var buffer = _buffer!;
        if (_start == _end)
        {
            _start = _scan = _end = 0;
        }
        else if (_end == buffer.Length)
        {
            int pending = _end - _start;
            if (_start == 0)
            {
                // One incomplete line no longer than the limit fills the buffer: grow, never past limit + 1.
                var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(2L * buffer.Length, _maxLineBytes + 1L));
                buffer.AsSpan(0, pending).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(buffer);
                _buffer = buffer = larger;
            }
            else
            {
                buffer.AsSpan(_start, pending).CopyTo(buffer);
            }
            _scan -= _start;
            _start = 0;
            _end = pending;
        }
        int read = _input.Read(buffer, _end, buffer.Length - _end);
        if (read == 0) _eof = true;
        else _end += read;
    }

    /// <summary>
    /// Discards the rest of an over-long line, <paramref name="counted"/> bytes of which are buffered,
    /// reading a buffer at a time until its '\n' or the end. Returns the line's length.
    /// </summary>
    private long SkipRestOfLine(int counted)
    {
        var buffer = _buffer!;
        long length = counted;
        _start = _scan = _end = 0;
        while (!_eof)
        {
            int read = _input.Read(buffer, 0, buffer.Length);
            if (read == 0)
            {
                _eof = true;
                break;
            }
            int newline = buffer.AsSpan(0, read).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                length += newline;
                _start = _scan = newline + 1;
                _end = read;
                break;
            }
            length += read;
        }
        return length;
    }

    public void Dispose()
    {
        if (_buffer is null) return;
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = null;
        _lineStart = _lineLength = 0;
    }
}
