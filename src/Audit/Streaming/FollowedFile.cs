using Filter.Audit.Formats;

namespace Filter.Audit.Streaming;

/// <summary>
/// A log file read to its end and then followed as it grows, across rotation, as <c>tail -F</c> follows it:
/// when the path names another file (auditd renamed the log to <c>audit.log.1</c> and began a new one), the
/// old file is read to its end first and the new one from its start, so no line is lost or read twice; a
/// file cut shorter than what was read (truncated in place) is read again from its start. Reads wait
/// (checking every 100 ms) and never end until <see cref="Stop"/> is cancelled; like <see cref="LiveInput"/>
/// they call <see cref="BeforeWait"/> before waiting and report quiet spells after <see cref="QuietAfter"/>.
/// </summary>
public sealed class FollowedFile : Stream, IQuietInput, IStreamingInput
{
    private const int PollMs = 100;

    private readonly string _path;
    private FileStream _file;
    private (ulong Device, ulong Inode, long Size) _identity;

    private FollowedFile(string path, FileStream file, (ulong, ulong, long) identity)
    {
        _path = path;
        _file = file;
        _identity = identity;
    }

    /// <summary>Opens <paramref name="path"/> from its start; throws as <see cref="File.OpenRead"/> does when it cannot.</summary>
    public static FollowedFile Open(string path)
    {
        var file = OpenShared(path);
        var identity = Posix.Identity((int)file.SafeFileHandle.DangerousGetHandle());
        if (identity is null)
        {
            file.Dispose();
            throw new IOException("cannot stat the open file");
        }
        return new FollowedFile(path, file, identity.Value);
    }

    /// <summary>Called before a read waits for the file to grow.</summary>
    public Action? BeforeWait { get; set; }

    /// <summary>How long without data is a quiet spell (a read returns 0 with <see cref="Quiet"/>); null: never.</summary>
    public TimeSpan? QuietAfter { get; set; }

    /// <summary>When cancelled, reads return 0: the end.</summary>
    public CancellationToken Stop { get; set; }

    /// <summary>Called with a line to tell the user: the file was rotated or truncated.</summary>
    public Action<string>? Notice { get; set; }

    public bool Quiet { get; private set; }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        Quiet = false;
        if (buffer.IsEmpty) return 0;
        bool waiting = false;
        long waited = 0;
        while (!Stop.IsCancellationRequested)
        {
            int n = _file.Read(buffer);
            if (n > 0) return n;
            if (Rotated()) continue;
            if (!waiting)
            {
                BeforeWait?.Invoke();
                waiting = true;
            }
            if (Stop.WaitHandle.WaitOne(PollMs)) break;
            waited += PollMs;
            if (QuietAfter is { } quiet && waited >= quiet.TotalMilliseconds)
            {
                Quiet = true;
                return 0;
            }
        }
        return 0;
    }

    /// <summary>
    /// At the end of the open file: whether reading goes on elsewhere. The path names another file (the open
    /// one, now renamed, was read to its end just before: every rotation closes the old log before making the
    /// new one), or the open file is shorter than what was read of it.
    /// </summary>
    private bool Rotated()
    {
        var now = Posix.Identity(_path);
        if (now is { } id && (id.Device, id.Inode) != (_identity.Device, _identity.Inode))
        {
            // Whatever reached the old file between the last read and the rename is read first.
            if (_file.Position < (Posix.Identity((int)_file.SafeFileHandle.DangerousGetHandle())?.Size ?? 0)) return true;
            FileStream next;
            try { next = OpenShared(_path); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; } // not there yet
            var identity = Posix.Identity((int)next.SafeFileHandle.DangerousGetHandle());
            if (identity is null)
            {
                next.Dispose();
                return false;
            }
            _file.Dispose();
            (_file, _identity) = (next, identity.Value);
            Notice?.Invoke($"{_path}: rotated; following the new file");
            return true;
        }
        long size = Posix.Identity((int)_file.SafeFileHandle.DangerousGetHandle())?.Size ?? _file.Position;
        if (size < _file.Position)
        {
            _file.Position = 0;
            Notice?.Invoke($"{_path}: truncated; reading it again from its start");
            return true;
        }
        return false;
    }

    private static FileStream OpenShared(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);

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
        if (disposing) _file.Dispose();
        base.Dispose(disposing);
    }
}
