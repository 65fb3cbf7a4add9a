using Microsoft.Win32.SafeHandles;
using Filter.Audit.Formats;

namespace Filter.Audit.Streaming;

/// <summary>
/// A descriptor whose reads may wait: standard input on a pipe, a terminal or a socket (auditd's plugin
/// feed). Before it would wait it calls <see cref="BeforeWait"/> (a writer flushes what it has, so output
/// keeps up with input burst by burst, while a busy input is read without waiting and so without flushing);
/// after <see cref="QuietAfter"/> of nothing it reports a quiet spell (<see cref="IQuietInput"/>: a reader
/// takes the events it holds to be complete); once <see cref="Stop"/> is cancelled, reads return what had arrived by then, then the end.
/// </summary>
public sealed class LiveInput : ReadOnlyStream, IQuietInput, IStreamingInput
{
    /// <summary>How long a wait lasts between checks of <see cref="Stop"/>.</summary>
    private const int SliceMs = 100;

    private readonly int _fd;
    private readonly FileStream _stream;
    private int _arrived = -1; // once stopped: the bytes still to read of those there at the stop

    /// <param name="handle">The descriptor, left open by <see cref="Dispose"/> unless <paramref name="owns"/>.</param>
    public LiveInput(SafeFileHandle handle, bool owns = false)
    {
        _fd = (int)handle.DangerousGetHandle();
        _stream = new FileStream(owns ? handle : new SafeFileHandle(handle.DangerousGetHandle(), ownsHandle: false), FileAccess.Read, bufferSize: 0);
    }

    /// <summary>Standard input as a live input, or null when it is a regular file (reads of which never wait).</summary>
    public static LiveInput? StandardInput()
    {
        var handle = new SafeFileHandle(0, ownsHandle: false);
        using (var probe = new FileStream(new SafeFileHandle(0, ownsHandle: false), FileAccess.Read, bufferSize: 0))
            if (probe.CanSeek) return null;
        return new LiveInput(handle);
    }

    /// <summary>Called before a read would wait (no data now).</summary>
    public Action? BeforeWait { get; set; }

    /// <summary>How long without data is a quiet spell (a read returns 0 with <see cref="Quiet"/>); null: never.</summary>
    public TimeSpan? QuietAfter { get; set; }

    /// <summary>When cancelled, reads return 0: the end of the input.</summary>
    public CancellationToken Stop { get; set; }

    public bool Quiet { get; private set; }

    public override int Read(Span<byte> buffer)
    {
        Quiet = false;
        if (buffer.IsEmpty) return 0;
        if (!Posix.Readable(_fd, 0))
        {
            BeforeWait?.Invoke();
            long waited = 0;
            while (!Posix.Readable(_fd, SliceMs))
            {
                if (Stop.IsCancellationRequested) return ReadWhatArrived(buffer);
                waited += SliceMs;
                if (QuietAfter is { } quiet && waited >= quiet.TotalMilliseconds)
                {
                    Quiet = true;
                    return 0;
                }
            }
        }
        if (Stop.IsCancellationRequested) return ReadWhatArrived(buffer);
        return _stream.Read(buffer);
    }

    /// <summary>
    /// Once stopped: the bytes that had reached the descriptor when the stop was seen, then the end. What a writer
    /// sent before it asked us to stop (auditd writes DAEMON_END to its plugins, then sends SIGTERM) is read,
    /// and a writer that goes on writing cannot keep us from ending.
    /// </summary>
    private int ReadWhatArrived(Span<byte> buffer)
    {
        if (_arrived < 0) _arrived = Posix.Pending(_fd);
        if (_arrived == 0) return 0;
        int n = _stream.Read(buffer[..Math.Min(buffer.Length, _arrived)]);
        _arrived = n == 0 ? 0 : _arrived - n;
        return n;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _stream.Dispose();
        base.Dispose(disposing);
    }
}
