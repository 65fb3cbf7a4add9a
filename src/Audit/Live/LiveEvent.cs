using System.Text;
using Filter.Audit.Formats;

namespace Filter.Audit.Live;

/// <summary>One kernel audit record: its type and its text after <c>audit(SECONDS.MILLIS:SERIAL): </c>.</summary>
public readonly record struct LiveRecord(ushort Type, byte[] Body);

/// <summary>An assembled event: the records that share one id, in arrival order (EOE not kept).</summary>
public sealed class LiveEvent(AuditdEventId id)
{
    public AuditdEventId Id { get; } = id;

    public List<LiveRecord> Records { get; } = [];

    /// <summary>True when an EOE record ended the event; false when it was ended by the timeout (or at shutdown).</summary>
    public bool EndedByEoe { get; internal set; }

    /// <summary>When its last record arrived (<see cref="System.Diagnostics.Stopwatch"/> ticks): drives the timeout.</summary>
    internal long LastSeen;

    /// <summary>Bytes of record text it holds (the assembler's bound).</summary>
    internal long HeldBytes;

    /// <summary>The event as auditd's RAW log format writes it: <c>type=NAME msg=audit(ID): BODY</c> per record, each ending in '\n'.</summary>
    public void WriteAuditd(Stream output)
    {
        var id = Encoding.ASCII.GetBytes($" msg=audit({Id}): ");
        foreach (var r in Records)
        {
            output.Write("type="u8);
            output.Write(Encoding.ASCII.GetBytes(RecordTypes.NameOf(r.Type)));
            output.Write(id);
            output.Write(r.Body);
            output.WriteByte((byte)'\n');
        }
    }

    public string ToAuditdText()
    {
        using var m = new MemoryStream();
        WriteAuditd(m);
        return Encoding.UTF8.GetString(m.ToArray());
    }
}

/// <summary>
/// The text of a kernel audit record as the netlink message carries it: <c>audit(SECONDS.MILLIS:SERIAL): BODY</c>
/// (kernel/audit.c audit_log_start), possibly followed by NUL bytes or a newline, which are not part of it.
/// </summary>
public static class AuditRecordText
{
    /// <summary>The record's event id and body, or false if the text does not start with <c>audit(...): </c>.</summary>
    public static bool TryParse(ReadOnlySpan<byte> payload, out AuditdEventId id, out ReadOnlySpan<byte> body)
    {
        id = default;
        body = default;
        int end = payload.Length;
        while (end > 0 && payload[end - 1] is 0 or (byte)'\n') end--;
        var text = payload[..end];
        if (!text.StartsWith("audit("u8)) return false;
        int p = "audit(".Length;
        if (!Number(text, ref p, (byte)'.', out ulong seconds) || !Number(text, ref p, (byte)':', out ulong millis)
            || !Number(text, ref p, (byte)')', out ulong serial) || p >= text.Length || text[p] != (byte)':'
            || !AuditdEventId.TryCreate(seconds, millis, serial, out id))
            return false;
        p++;
        if (p < text.Length && text[p] == (byte)' ') p++;
        body = text[p..];
        return true;
    }

    private static bool Number(ReadOnlySpan<byte> text, ref int p, byte end, out ulong value)
    {
        value = 0;
        int start = p;
        while (p < text.Length && (uint)(text[p] - '0') <= 9)
        {
            if (p - start >= 19) return false;
            value = value * 10 + (uint)(text[p] - '0');
            p++;
        }
        if (p == start || p >= text.Length || text[p] != end) return false;
        p++;
        return true;
    }
}
