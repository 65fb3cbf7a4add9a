using System.Buffers;
using System.Runtime.CompilerServices;

namespace Filter.Audit.Formats;

/// <summary>
/// Splits one stream into lines for the line-based formats (<see cref="JsonLinesReader"/>,
/// <see cref="AuditdReader"/>): one pooled buffer, a vectorised newline search, and a bounded line length.
/// A line longer than the limit is skipped a buffer at a time, never held whole, and only its length is
/// kept. A UTF-8 byte order mark before the first line is dropped. The reader does not own the stream.
/// </summary>
internal sealed class LineReader : IDisposable
{
    // Four times the file buffer (AuditdInput), so that most reads bypass it and few lines straddle a refill.
    private const int InitialBufferSize = 256 * 1024;

    private readonly Stream _input;
    private readonly int _maxLineBytes;
    private byte[]? _buffer;
    // _buffer[_start.._end) holds unread input; _buffer[_start.._scan) is known to hold no '\n'.
    private int _start, _scan, _end;
    private bool _eof;
    private int _lineStart, _lineLength;
    private long _lineNumber;
    // How many input bytes come before _buffer[0]: Position is this plus _start.
    private long _bufferOrigin;

    /// <param name="input">The input; read forward only, left open by <see cref="Dispose"/>.</param>
    /// <param name="maxLineBytes">The longest line accepted, in bytes without the '\n'; at least 1.</param>
    /// <param name="firstLineNumber">The number of the input's first line: above 1 when the input is the rest
    /// of a file read from a line start (a chunk), whose first line then keeps any byte order mark.</param>
    public LineReader(Stream input, int maxLineBytes, long firstLineNumber = 1)
    {
        _input = input;
        _maxLineBytes = maxLineBytes;
        _lineNumber = firstLineNumber - 1;
        _buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(InitialBufferSize, maxLineBytes + 1L));
    }

    /// <summary>
    /// The line just read, without its '\n' but with any '\r' (so it can be written back unchanged), and
    /// without the byte order mark if it is the first line. Empty after an over-long line, at the end and
    /// once disposed. Valid until the next <see cref="ReadLine"/>.
    /// </summary>
    public ReadOnlySpan<byte> Line => _buffer.AsSpan(_lineStart, _lineLength);

    /// <summary>
    /// Whether the last <see cref="ReadLine"/> returned false because the input is quiet (<see cref="IQuietInput"/>)
    /// between lines, not at its end; the next call reads on. Quiet in the middle of a line is not reported:
    /// the line's writer is not done, and the reader waits for the rest.
    /// </summary>
    public bool Quiet { get; private set; }

    /// <summary>The 1-based number of the line just read (blank and over-long ones count); at the end, the number of lines.</summary>
    public long LineNumber => _lineNumber;

    /// <summary>How many bytes of the input the lines read so far took, their '\n' included.</summary>
    public long Position => _bufferOrigin + _start;

    /// <summary>
    /// Moves to the next line. Returns false at the end of input. An over-long line is skipped: the result
    /// is true, <see cref="Line"/> is empty and <paramref name="overLongBytes"/> holds its length (which is
    /// more than the limit, so never 0); for any other line it is 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool ReadLine(out long overLongBytes)
    {
        overLongBytes = 0;
        return TryReadBuffered() || ReadLineSlowly(out overLongBytes);
    }

    /// <summary>
    /// <see cref="ReadLine"/>'s common case, inline and without reading: moves to the next line if it is
    /// whole in the buffer, not the first (which may start with a byte order mark) and not too long. False
    /// otherwise, no line taken: <see cref="ReadLine"/> then reads on (from where this search stopped: the
    /// buffered bytes are not searched again).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryReadBuffered()
    {
        if (_lineNumber == 0 || _buffer is not { } buffer) return false;
        int newline = buffer.AsSpan(_scan, _end - _scan).IndexOf((byte)'\n');
        if (newline < 0)
        {
            _scan = _end;
            return false;
        }
        if (newline + _scan - _start > _maxLineBytes) return false;
        newline += _scan;
        (_lineStart, _lineLength) = (_start, newline - _start);
        _start = _scan = newline + 1;
        _lineNumber++;
        Quiet = false;
        return true;
    }

    private bool ReadLineSlowly(out long overLongBytes)
    {
        Quiet = false;
        if (!Next(out overLongBytes)) return false;
        _lineNumber++;
        if (_lineNumber == 1 && Line.StartsWith(Utf8Bom))
        {
            _lineStart += Utf8Bom.Length;
            _lineLength -= Utf8Bom.Length;
        }
        return true;
    }

    private static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];

    private bool Next(out long overLongBytes)
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
                // A last line without '\n' (a truncated log, a hand-written file): still a line.
                _lineStart = _start;
                _lineLength = pending;
                _start = _scan = _end;
                return true;
            }
            // Quiet in the middle of a line: the writer is not done with it, so more is coming.
            if (!Fill() && _end == _start)
            {
                _lineStart = _lineLength = 0;
                Quiet = true;
                return false;
            }
            buffer = _buffer!;
        }
    }

    /// <summary>
    /// Reads more input after the unread bytes, compacting or growing (up to the line limit) first. False when
    /// the input is quiet (nothing read, and not the end).
    /// </summary>
    private bool Fill()
    {
        var buffer = _buffer!;
        if (_start == _end)
        {
            _bufferOrigin += _end;
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
            _bufferOrigin += _start;
            _scan -= _start;
            _start = 0;
            _end = pending;
        }
        int read = _input.Read(buffer, _end, buffer.Length - _end);
        if (read > 0) _end += read;
        else if (_input is IQuietInput { Quiet: true }) return false;
        else _eof = true;
        return true;
    }

    /// <summary>
    /// Discards the rest of an over-long line, <paramref name="counted"/> bytes of which are buffered,
    /// reading a buffer at a time until its '\n' or the end. Returns the line's length.
    /// </summary>
    private long SkipRestOfLine(int counted)
    {
        var buffer = _buffer!;
        long length = counted;
        _bufferOrigin += _end;
        _start = _scan = _end = 0;
        while (!_eof)
        {
            int read = _input.Read(buffer, 0, buffer.Length);
            if (read == 0 && _input is IQuietInput { Quiet: true }) continue; // the rest of the line is still coming
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
            _bufferOrigin += read;
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
