using System.Text;
using Filter.Audit.Output;

namespace Filter.Cli;

/// <summary>
/// Where matches go, a line at a time: a stream (standard output, a file) through one buffer that is
/// flushed when the input waits and at the end, or syslog (a message per line). A write that fails stops
/// the output: <see cref="Error"/> says why, and the command stops reading.
/// </summary>
internal abstract class MatchOutput : IDisposable
{
    public Exception? Error { get; protected set; }

    public abstract void Line(ReadOnlySpan<byte> line);

    public void Line(string line) => Line(Encoding.UTF8.GetBytes(line));

    /// <summary>
    /// Whole lines, each ending in '\n' (a chunk of a parallel run's output): what as many <see cref="Line"/>
    /// calls would write, in one write where the output can.
    /// </summary>
    public virtual void Lines(ReadOnlySpan<byte> lines)
    {
        while (lines.IndexOf((byte)'\n') is >= 0 and var end)
        {
            Line(lines[..end]);
            lines = lines[(end + 1)..];
        }
    }

    public abstract void Flush();

    public virtual void Dispose() => Flush();

    /// <summary>
    /// Whether the output ended because its reader went away (a broken pipe: <c>filterc run ... | head</c>),
    /// which is how a pipeline stops, not an error to report.
    /// </summary>
    public bool ReaderGone => Error is IOException { HResult: 32 }; // EPIPE

    public sealed class ToStream(Stream stream, bool ownsStream = false) : MatchOutput
    {
        private readonly BufferedStream _buffer = new(stream, 1 << 16);

        public override void Line(ReadOnlySpan<byte> line)
        {
            if (Error is not null) return;
            try
            {
                _buffer.Write(line);
                _buffer.WriteByte((byte)'\n');
            }
            catch (IOException e) { Error = e; }
        }

        public override void Lines(ReadOnlySpan<byte> lines)
        {
            if (Error is not null) return;
            try { _buffer.Write(lines); }
            catch (IOException e) { Error = e; }
        }

        public override void Flush()
        {
            if (Error is not null) return;
            try { _buffer.Flush(); }
            catch (IOException e) { Error = e; }
        }

        public override void Dispose()
        {
            Flush();
            if (ownsStream) stream.Dispose();
        }
    }

    /// <summary>A file, appended to (created with mode 0600: audit data), reopened by <see cref="Reopen"/> after rotation.</summary>
    public sealed class ToFile : MatchOutput
    {
        private readonly string _path;
        private ToStream? _stream;

        public ToFile(string path)
        {
            _path = path;
            Reopen();
        }

        public void Reopen()
        {
            _stream?.Dispose();
            _stream = null;
            try
            {
                var options = new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.ReadWrite };
                if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                _stream = new ToStream(new FileStream(_path, options), ownsStream: true);
                Error = null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Error = e;
            }
        }

        public override void Line(ReadOnlySpan<byte> line)
        {
            if (_stream is null) return;
            _stream.Line(line);
            Error = _stream.Error;
        }

        public override void Flush()
        {
            if (_stream is null) return;
            _stream.Flush();
            Error = _stream.Error;
        }

        public override void Dispose() => _stream?.Dispose();
    }

    /// <summary>
    /// Each line one syslog message, escaped (a message is one line of text), the ENRICHED separator a
    /// space (as auditd's syslog plugin sends it).
    /// </summary>
    public sealed class ToSyslog(SyslogWriter syslog) : MatchOutput
    {
        public override void Line(ReadOnlySpan<byte> line)
        {
            var copy = line.ToArray();
            copy.AsSpan().Replace((byte)0x1d, (byte)' ');
            syslog.Send(Interpretation.Text(copy));
        }

        public override void Flush() { }

        public override void Dispose() => syslog.Dispose();
    }
}
