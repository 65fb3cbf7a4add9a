namespace Filter.Audit.Formats;

/// <summary>The two record formats: JSON lines (records) and auditd logs (events).</summary>
public enum InputFormat
{
    JsonLines,
    Auditd,
}

/// <summary>
/// An input opened so that its format is known from its content before a reader sees it: gzip is
/// decompressed (recognised by its magic bytes, as <see cref="AuditdInput"/> does), then the bytes up to
/// the first line that is not blank are read ahead and given back to the reader unchanged. That line says
/// the format: a JSON object (<c>{</c>) is JSON lines, <c>type=</c> or <c>node=</c> an auditd record.
/// A quiet input (<see cref="IQuietInput"/>) stays quiet through it.
/// </summary>
public sealed class SniffedInput : Stream, IQuietInput
{
    /// <summary>How far ahead the first line is looked for: the first record of a log is far shorter.</summary>
    private const int MaxPeek = 64 << 10;

    private readonly Stream _inner;
    private readonly byte[] _peeked;
    private int _at;

    private SniffedInput(Stream inner, byte[] peeked, bool compressed)
    {
        _inner = inner;
        _peeked = peeked;
        Compressed = compressed;
        int start = 0;
        while (start < peeked.Length)
        {
            int end = Array.IndexOf(peeked, (byte)'\n', start);
            var line = peeked.AsMemory(start, (end < 0 ? peeked.Length : end) - start);
            FirstLineNumber++;
            if (line.Span.IndexOfAnyExcept(" \t\r"u8) >= 0)
            {
                FirstLine = line;
                break;
            }
            if (end < 0) break;
            start = end + 1;
        }
        Format = FormatOf(FirstLine.Span);
    }

    /// <summary>Opens <paramref name="input"/> (which it then owns), reading ahead to its first line.</summary>
    public static SniffedInput Open(Stream input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var stream = AuditdInput.Decompressing(input);
        var peeked = new MemoryStream();
        var buffer = new byte[4096];
        while (peeked.Length < MaxPeek)
        {
            int n = stream.Read(buffer);
            if (n == 0 && stream is IQuietInput { Quiet: true }) continue; // nothing yet: the first line decides
            if (n == 0) break;
            peeked.Write(buffer, 0, n);
            if (HasContentLine(peeked.GetBuffer().AsSpan(0, (int)peeked.Length))) break;
        }
        return new SniffedInput(stream, peeked.ToArray(), compressed: stream is GzipInput);
    }

    /// <summary>The format the first line that is not blank has, or null: none (an empty input), or neither.</summary>
    public InputFormat? Format { get; }

    /// <summary>That line (without its '\n'), as far as it was read; empty when there is none.</summary>
    public ReadOnlyMemory<byte> FirstLine { get; }

    /// <summary>Its 1-based line number.</summary>
    public long FirstLineNumber { get; }

    /// <summary>Whether the input is gzip-compressed.</summary>
    public bool Compressed { get; }

    public bool Quiet => _at == _peeked.Length && _inner is IQuietInput { Quiet: true };

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_at < _peeked.Length)
        {
            int n = Math.Min(buffer.Length, _peeked.Length - _at);
            _peeked.AsSpan(_at, n).CopyTo(buffer);
            _at += n;
            return n;
        }
        return _inner.Read(buffer);
    }

    /// <summary>
    /// Why this input (named <paramref name="name"/> in errors) cannot be read as <paramref name="forced"/>
    /// (<c>--format</c>), or, when none is forced, why its format cannot be told; null when it can be read:
    /// its first line has the format asked for, or none was asked and it has one, or the input is empty.
    /// A first line of neither format read as a forced format is the reader's to report, like any bad line.
    /// </summary>
    public Diagnostic? Problem(string name, InputFormat? forced)
    {
        if (FirstLine.IsEmpty) return null;
        if (forced is { } asked)
            return Format is { } actual && actual != asked
                ? InputErrors.Malformed(name, FirstLineNumber, $"this is {Describe(actual)}, not {Describe(asked)} (--format {OptionValue(asked)}): " +
                    $"give --format {OptionValue(actual)}, or leave --format out to tell the format from the content")
                : null;
        return Format is null
            ? InputErrors.Malformed(name, FirstLineNumber, $"cannot tell the format: the first line is neither a JSON object nor an auditd record " +
                $"('{AuditdSyscall.Show(FirstLine.Span)}'); give --format jsonl or --format auditd")
            : null;
    }

    /// <summary>The format a line has: <c>{</c> JSON lines, <c>type=</c>/<c>node=</c> auditd, else null.</summary>
    public static InputFormat? FormatOf(ReadOnlySpan<byte> line)
    {
        int start = line.IndexOfAnyExcept(" \t"u8);
        if (start < 0) return null;
        line = line[start..];
        if (start == 0 && line.StartsWith("\uFEFF"u8)) line = line[3..]; // a byte order mark
        if (line.StartsWith("{"u8)) return InputFormat.JsonLines;
        if (line.StartsWith("type="u8) || line.StartsWith("node="u8)) return InputFormat.Auditd;
        return null;
    }

    /// <summary>How the format is named in messages.</summary>
    public static string Describe(InputFormat format) => format == InputFormat.Auditd ? "an auditd log" : "JSON lines";

    /// <summary>The <c>--format</c> value that reads it.</summary>
    public static string OptionValue(InputFormat format) => format == InputFormat.Auditd ? "auditd" : "jsonl";

    private static bool HasContentLine(ReadOnlySpan<byte> bytes)
    {
        while (true)
        {
            int end = bytes.IndexOf((byte)'\n');
            if (end < 0) return false;
            if (bytes[..end].IndexOfAnyExcept(" \t\r"u8) >= 0) return true;
            bytes = bytes[(end + 1)..];
        }
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) _inner.Dispose();
        base.Dispose(disposing);
    }
}
