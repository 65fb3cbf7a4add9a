using System.Text;
using Filter.Audit.Formats;
using Xunit;

namespace Filter.Tests.Auditd;

/// <summary>
/// When a reader of a stream hands an event on (spec/auditd.md, "Events"): at its last record (PROCTITLE,
/// a message from user space), at EOE, or when the input has been quiet; never by reading ahead.
/// </summary>
public class EventEndTests
{
    private static string Line(string type, string id, string text = "x=1") => $"type={type} msg=audit({id}): {text}";

    private static string Syscall(string id) => $"type=SYSCALL msg=audit({id}): {KernelText.Syscall("arch=c000003e syscall=0 success=yes exit=0")}";

    private static List<string> Lines(AuditdReader reader) =>
        Enumerable.Range(0, reader.LineCount).Select(i => Encoding.UTF8.GetString(reader.GetLine(i))).ToList();

    [Theory]
    [InlineData("PROCTITLE", true)]
    [InlineData("USER_LOGIN", true)]
    [InlineData("CRED_DISP", true)]
    [InlineData("SERVICE_START", true)]
    [InlineData("DAEMON_START", true)]
    [InlineData("KERNEL", true)]
    [InlineData("ANOM_LOGIN_FAILURES", true)]  // 2100: from user space
    [InlineData("LOGIN", false)]               // logged inside the write to loginuid, before its SYSCALL
    [InlineData("ANOM_ABEND", false)]
    [InlineData("AVC", false)]
    [InlineData("CONFIG_CHANGE", false)]
    [InlineData("PATH", false)]
    [InlineData("CWD", false)]
    [InlineData("UNKNOWN[1199]", false)]
    public void TheRecordTypesThatEndTheirEvent(string type, bool last)
    {
        // A PATH record is decoded (its item= first, as the kernel writes it); the others' text is not read.
        string text = type switch { "ANOM_ABEND" => KernelText.AnomAbend("pid=7 sig=11 res=1"), "PATH" => "item=0", _ => "x=1" };
        var input = new MemoryStream(Encoding.UTF8.GetBytes(Line(type, "1.0:1", text) + "\n" + Line("CWD", "1.0:2") + "\n"));
        using var reader = new AuditdReader(input, "audit.log");
        Assert.Equal(ReadResult.Record, reader.Read());
        // Handed on at its own line (read no further) when it is last; otherwise at the end of input.
        Assert.Equal(last ? 1 : 2, reader.LinesRead);
    }

    [Fact]
    public void AnEoeAfterTheProctitleThatEndedItsEventIsNotAnEventOfItsOwn()
    {
        // auditd's plugin feed: PROCTITLE, then EOE. The log has no EOE; a lone one is still an event.
        string s = Syscall("1.0:1"), p = Line("PROCTITLE", "1.0:1", "proctitle=6C73"), eoe = "type=EOE msg=audit(1.0:1): ";
        string lone = "type=EOE msg=audit(1.0:9): ", user = Line("USER_END", "1.0:2", "pid=1 uid=0 msg='op=x res=success'");
        var input = new MemoryStream(Encoding.UTF8.GetBytes(string.Join("\n", s, p, eoe, user, lone) + "\n"));
        using var reader = new AuditdReader(input, "audit.log");
        Assert.Equal(ReadResult.Record, reader.Read());
        Assert.Equal([s, p], Lines(reader));
        Assert.Equal(ReadResult.Record, reader.Read());
        Assert.Equal([user], Lines(reader));
        Assert.Equal(ReadResult.Record, reader.Read());
        Assert.Equal([lone], Lines(reader));
        Assert.Equal(ReadResult.End, reader.Read());
    }

    [Fact]
    public void AQuietInputHandsOnTheEventsHeldAndReadsOn()
    {
        string a1 = Line("CONFIG_CHANGE", "1.0:1", "op=add_rule res=1"), b1 = Syscall("1.0:2"), b2 = Line("PATH", "1.0:2", "item=0");
        string b3 = Line("PROCTITLE", "1.0:2");
        // A CONFIG_CHANGE alone (its system call not audited) has no last record. Quiet in the middle of a
        // line hands nothing on (the writer is not done); quiet between lines hands on every event held.
        var input = new ScriptedInput([a1 + "\n" + b1 + "\n" + b2.Substring(0, 10), null, b2.Substring(10) + "\n" + b3 + "\n", null]);
        using var reader = new AuditdReader(input, "audit.log");
        Assert.Equal(ReadResult.Record, reader.Read());
        Assert.Equal([a1], Lines(reader));
        Assert.Equal((2, 4L), (input.QuietReads, reader.LinesRead));
        Assert.Equal(ReadResult.Record, reader.Read());
        Assert.Equal([b1, b2, b3], Lines(reader));
        Assert.Equal(ReadResult.End, reader.Read());
    }

    [Fact]
    public void AQuietInputWithNothingHeldIsReadOn()
    {
        string a1 = Syscall("1.0:1"), a2 = Line("PROCTITLE", "1.0:1");
        var input = new ScriptedInput([null, null, a1 + "\n", null, a2 + "\n"]);
        using var reader = new AuditdReader(input, "audit.log");
        Assert.Equal(ReadResult.Record, reader.Read());
        Assert.Equal([a1], Lines(reader)); // the quiet spell after a1 completes it: a2 comes too late
        Assert.Equal(ReadResult.Record, reader.Read());
        Assert.Equal([a2], Lines(reader));
        Assert.Equal(ReadResult.End, reader.Read());
        Assert.Equal(3, input.QuietReads);
    }

    /// <summary>An input that returns each chunk in turn, null being a quiet spell; then the end.</summary>
    internal sealed class ScriptedInput(IReadOnlyList<string?> chunks) : Stream, IQuietInput
    {
        private int _next;
        private byte[] _pending = [];
        private int _at;

        public bool Quiet { get; private set; }
        public int QuietReads { get; private set; }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            Quiet = false;
            if (_at == _pending.Length)
            {
                if (_next == chunks.Count) return 0;
                if (chunks[_next++] is not { } chunk)
                {
                    Quiet = true;
                    QuietReads++;
                    return 0;
                }
                (_pending, _at) = (Encoding.UTF8.GetBytes(chunk), 0);
            }
            int n = Math.Min(buffer.Length, _pending.Length - _at);
            _pending.AsSpan(_at, n).CopyTo(buffer);
            _at += n;
            return n;
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
    }
}
