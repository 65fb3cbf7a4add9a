namespace Filter.Tests.Formats;

// Streams shared by the format readers' tests (JSON lines, auditd): awkward read sizes, inputs too large to hold.

/// <summary>A stream that returns at most <c>chunk</c> bytes per read, as pipes and sockets do; not seekable.</summary>
internal sealed class ChunkedStream(byte[] bytes, int chunk) : ReadOnlyStream
{
    private int _at;

    public override int Read(Span<byte> buffer)
    {
        int n = Math.Min(Math.Min(buffer.Length, chunk), bytes.Length - _at);
        bytes.AsSpan(_at, n).CopyTo(buffer);
        _at += n;
        return n;
    }
}

/// <summary><c>length</c> copies of one byte, generated as read: a huge input that never exists whole.</summary>
internal sealed class RepeatStream(byte value, long length) : ReadOnlyStream
{
    private long _left = length;

    public override int Read(Span<byte> buffer)
    {
        int n = (int)Math.Min(buffer.Length, _left);
        buffer[..n].Fill(value);
        _left -= n;
        return n;
    }
}

/// <summary>The given bytes, then an I/O error (a disk or a network file failing mid-read).</summary>
internal sealed class FailingStream(byte[] bytes) : ReadOnlyStream
{
    private int _at;

    public override int Read(Span<byte> buffer)
    {
        if (_at == bytes.Length) throw new IOException("Input/output error");
        int n = Math.Min(buffer.Length, bytes.Length - _at);
        bytes.AsSpan(_at, n).CopyTo(buffer);
        _at += n;
        return n;
    }
}

internal sealed class ConcatStream(params Stream[] parts) : ReadOnlyStream
{
    private int _part;

    public override int Read(Span<byte> buffer)
    {
        for (; _part < parts.Length; _part++)
        {
            int n = parts[_part].Read(buffer);
            if (n > 0) return n;
        }
        return 0;
    }
}

internal abstract class ReadOnlyStream : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
    public abstract override int Read(Span<byte> buffer);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
