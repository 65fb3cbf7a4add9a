using System.Globalization;
using System.Text;
using Filter.Audit.Formats;
using Filter.Compiler.Tools;

namespace Filter.Audit.Output;

/// <summary>
/// An event as ausearch <c>-i</c> prints it: a <c>----</c> line, then each record on a line of its own, in
/// log order (ausearch prints them last first), its time in local time and every field interpreted
/// (<see cref="Interpretation"/>):
/// <code>type=SYSCALL msg=audit(11/27/2026 10:14:02.524:565481) : arch=x86_64 syscall=write success=yes exit=5 ... uid=root ... comm=bash exe=/usr/bin/bash key=all</code>
/// The ENRICHED part of a line is not printed after it: its values stand in for the fields they interpret.
/// Control characters in any value are escaped, so the output cannot drive a terminal.
/// </summary>
public static class InterpretedText
{
    public const string EventSeparator = "----";

    /// <summary>Appends the event whose lines are <paramref name="lines"/>.</summary>
    public static void AppendEvent(StringBuilder sb, IEnumerable<ReadOnlyMemory<byte>> lines)
    {
        sb.Append(EventSeparator).Append('\n');
        foreach (var line in lines)
        {
            if (AuditdRecordText.Parse(line.Span) is { } record) AppendRecord(sb, record);
            else sb.Append(Interpretation.Text(line.Span));
            sb.Append('\n');
        }
    }

    public static void AppendRecord(StringBuilder sb, AuditdRecordText record)
    {
        if (record.Node is { } node) sb.Append("node=").Append(PrintableText.Escape(node)).Append(' ');
        sb.Append("type=").Append(PrintableText.Escape(record.Type)).Append(" msg=audit(").Append(Time(record.Id)).Append(") :");
        foreach (var field in record.Fields)
            sb.Append(' ').Append(PrintableText.Escape(field.Name)).Append('=').Append(PrintableText.Escape(Interpretation.Value(record, field)));
        foreach (var word in record.Words) sb.Append(' ').Append(PrintableText.Escape(word));
    }

    /// <summary>An event's time as ausearch prints it, in local time: <c>11/27/2026 10:14:02.524:565481</c>.</summary>
    public static string Time(AuditdEventId id)
    {
        // Past the year 9999 a date has no form: the seconds as logged.
        if (id.Seconds > (ulong)DateTimeOffset.MaxValue.ToUnixTimeSeconds() - 2 * 86400) return id.ToString();
        var local = TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeSeconds((long)id.Seconds), TimeZoneInfo.Local);
        return string.Create(CultureInfo.InvariantCulture, $"{local:MM/dd/yyyy HH:mm:ss}.{id.Millis:D3}:{id.Serial}");
    }
}
