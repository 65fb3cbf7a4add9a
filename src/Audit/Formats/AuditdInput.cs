namespace Filter.Audit.Formats;

/// <summary>
/// Opens log inputs, decompressing gzip transparently. Compression is recognised by the gzip magic bytes
/// (1f 8b), never by the file name: logrotate's <c>audit.log.1.gz</c>, a renamed file and a compressed
/// stdin all work. Concatenated gzip members (<c>cat a.gz b.gz</c>) decompress as one stream. Gzip data
/// that is truncated or damaged anywhere (<see cref="GzipInput"/>) makes reading fail with an
/// <see cref="InvalidDataException"/> that says what is wrong.
/// </summary>
public static class AuditdInput
{
    /// <summary>
    /// Opens a log file for reading, unbuffered: its readers read in blocks of their own (the line reader
    /// 256 KB, <see cref="GzipInput"/> its buffer), and a FileStream buffer only made the first sniff of two
    /// bytes read 64 KB into a buffer of fresh pages, to be copied out again.
    /// </summary>
    public static FileStream OpenFile(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0, FileOptions.SequentialScan);

    /// <summary>Opens <paramref name="path"/> for reading, decompressed; the caller disposes the result.</summary>
    public static Stream Open(string path)
    {
        var file = OpenFile(path);
        try
        {
            return Decompressing(file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// <paramref name="input"/> itself, or a decompressing view of it when it starts with the gzip magic.
    /// Works on unseekable streams (stdin, pipes): the peeked bytes are replayed. The result owns
    /// <paramref name="input"/>.
    /// </summary>
    public static Stream Decompressing(Stream input)
    {
        ArgumentNullException.ThrowIfNull(input);
        Span<byte> magic = stackalloc byte[2];
        int got = 0;
        if (input.CanSeek)
        {
            long at = input.Position;
            while (got < 2 && input.Read(magic[got..]) is var n and > 0) got += n;
            input.Position = at;
            return IsGzip(magic[..got]) ? new GzipInput(input) : input;
        }
        while (got < 2)
        {
            int n = input.Read(magic[got..]);
            if (n > 0) got += n;
            else if (input is not IQuietInput { Quiet: true }) break; // a quiet spell is not the end
        }
        Stream replayed = new PrefixedStream(magic[..got].ToArray(), input);
        return IsGzip(magic[..got]) ? new GzipInput(replayed) : replayed;
    }

    private static bool IsGzip(ReadOnlySpan<byte> magic) => magic.Length == 2 && magic[0] == 0x1f && magic[1] == 0x8b;

    /// <summary>A read-only stream that yields a few already-read bytes, then the rest of an inner stream.</summary>
    internal sealed class PrefixedStream(byte[] prefix, Stream inner) : ReadOnlyStream, IQuietInput
    {
        private int _prefixAt;

        // A followed file or pipe stays quiet through it, so that its reader knows a quiet spell from the end.
        public bool Quiet => _prefixAt == prefix.Length && inner is IQuietInput { Quiet: true };

        public override int Read(Span<byte> buffer)
        {
            if (_prefixAt < prefix.Length)
            {
                int n = Math.Min(buffer.Length, prefix.Length - _prefixAt);
                prefix.AsSpan(_prefixAt, n).CopyTo(buffer);
                _prefixAt += n;
                return n;
            }
            return inner.Read(buffer);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
