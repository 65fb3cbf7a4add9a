using System.Text.Json;
using Filter.Audit.Formats;

namespace Filter.Audit.Output;

/// <summary>
/// An event of an auditd log as one JSON object (schema: spec/output.md): its id, time and serial, the key
/// of the rule that matched it, and every record with every field as logged (quotes removed), the ENRICHED
/// fields and the words that are not fields:
/// <code>{"id":"1795731042.524:565481","time":"2026-11-17T10:10:42.524Z","serial":565481,"records":[{"type":"SYSCALL","fields":{"arch":"c000003e",...},"enriched":{"ARCH":"x86_64",...}},...]}</code>
/// </summary>
public static class EventJson
{
    /// <summary>Writes the event whose lines are <paramref name="lines"/>; <paramref name="ruleKey"/> is written when not empty.</summary>
    public static void Write(Utf8JsonWriter w, AuditdEventId id, IEnumerable<ReadOnlyMemory<byte>> lines, string? ruleKey)
    {
        w.WriteStartObject();
        w.WriteString("id", id.ToString());
        if (id.Seconds <= (ulong)DateTimeOffset.MaxValue.ToUnixTimeSeconds())
            w.WriteString("time", DateTimeOffset.FromUnixTimeMilliseconds(id.UnixMilliseconds).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
        w.WriteNumber("serial", id.Serial);
        string? node = null;
        w.WriteStartArray("records");
        foreach (var line in lines)
        {
            w.WriteStartObject();
            if (AuditdRecordText.Parse(line.Span) is { } record)
            {
                node ??= record.Node;
                w.WriteString("type", record.Type);
                WriteFields(w, "fields", record.Fields);
                if (record.Enriched.Count > 0) WriteFields(w, "enriched", record.Enriched);
                if (record.Words.Count > 0)
                {
                    w.WriteStartArray("words");
                    foreach (var word in record.Words) w.WriteStringValue(word);
                    w.WriteEndArray();
                }
            }
            else w.WriteString("line", Interpretation.Text(line.Span));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (node is not null) w.WriteString("node", node);
        if (!string.IsNullOrEmpty(ruleKey)) w.WriteString("rule_key", ruleKey);
        w.WriteEndObject();
    }

    private static void WriteFields(Utf8JsonWriter w, string name, IReadOnlyList<AuditdField> fields)
    {
        w.WriteStartObject(name);
        foreach (var f in fields) w.WriteString(f.Name, f.Value);
        w.WriteEndObject();
    }
}
