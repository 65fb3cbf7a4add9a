using System.Globalization;
using System.Text;
using System.Text.Json;
using Filter.Audit.Formats;

namespace Filter.Audit.Ids;

/// <summary>Where a record came from: its pipeline serial and timestamp, and its audit event id when the source has one.</summary>
public readonly record struct IdsRecordRef(ulong Serial, long Timestamp, AuditdEventId? Event)
{
    /// <summary>The audit event id (<c>SECONDS.MILLIS:SERIAL</c>, what <c>ausearch -a</c> takes the serial of) or the pipeline serial.</summary>
    public override string ToString() => Event is { } id ? id.ToString() : $"#{Serial}";
}

/// <summary>
/// A process started by a super-server died of SIGSEGV <see cref="Distance"/> system calls after receiving
/// data. <see cref="ReceiveFd"/> is -1 when the call's fd is not in the record (i386 socketcall);
/// <see cref="Returned"/> is the receive's return value (bytes; messages for recvmmsg).
/// </summary>
public sealed record IdsAlert(
    uint Pid,
    uint Ppid,
    string Exe,
    string ReceiveCall,
    long ReceiveFd,
    long Returned,
    IdsRecordRef Receive,
    IdsRecordRef Crash,
    int Distance,
    int Window,
    long RecordsLostBetween)
{
    /// <summary>One human-readable line of <c>key=value</c> pairs.</summary>
    public string ToText()
    {
        var s = new StringBuilder();
        s.Append(CultureInfo.InvariantCulture, $"ALERT pid={Pid} ppid={Ppid} exe={Quote(Exe)} sig=SIGSEGV n={Distance} window={Window}");
        s.Append(CultureInfo.InvariantCulture, $" receive={ReceiveCall} fd={(ReceiveFd < 0 ? "?" : ReceiveFd.ToString(CultureInfo.InvariantCulture))} ret={Returned}");
        s.Append(CultureInfo.InvariantCulture, $" receive_event={Receive} crash_event={Crash}");
        if (RecordsLostBetween > 0) s.Append(CultureInfo.InvariantCulture, $" lost={RecordsLostBetween}");
        return s.ToString();
    }

    /// <summary>One JSON object (a line of <c>--json</c> output).</summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("alert", "segv-after-receive");
            w.WriteNumber("pid", Pid);
            w.WriteNumber("ppid", Ppid);
            w.WriteString("exe", Exe);
            w.WriteNumber("n", Distance);
            w.WriteNumber("window", Window);
            w.WriteString("receive", ReceiveCall);
            w.WriteNumber("fd", ReceiveFd);
            w.WriteNumber("ret", Returned);
            WriteRef(w, "receive_event", Receive);
            WriteRef(w, "crash_event", Crash);
            w.WriteNumber("lost", RecordsLostBetween);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteRef(Utf8JsonWriter w, string name, IdsRecordRef r)
    {
        w.WriteStartObject(name);
        if (r.Event is { } id) w.WriteString("id", id.ToString());
        w.WriteNumber("serial", r.Serial);
        w.WriteNumber("timestamp", r.Timestamp);
        w.WriteEndObject();
    }

    private static string Quote(string s)
    {
        var q = new StringBuilder("\"");
        foreach (char c in s)
            q.Append(c is '"' or '\\' ? "\\" + c : c < ' ' ? $"\\x{(int)c:x2}" : c.ToString());
        return q.Append('"').ToString();
    }

    public override string ToString() => ToText();
}
