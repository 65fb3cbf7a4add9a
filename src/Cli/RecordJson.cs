using System.Text.Json;
using Filter.VM;

namespace Filter.Cli;

/// <summary>Records as JSON lines, the form <c>run --format jsonl</c> reads (spec/record.md): written by <c>tail</c> and <c>trace</c>.</summary>
internal static class RecordJson
{
    /// <summary>A record as a JSON line <see cref="Audit.Formats.JsonLinesReader"/> reads back (arch by name; omitted when 0).</summary>
    public static void Write(Utf8JsonWriter w, Record record)
    {
        w.WriteStartObject();
        foreach (var f in RecordLayout.Scalars)
        {
            ulong value = record.Load(f);
            if (f.Name == "arch")
            {
                if (AuditArch.NameOf((uint)value) is { } archName) w.WriteString("arch", archName);
                else if (value != 0) w.WriteNumber("arch", value);
            }
            else if (f.IsBoolean) w.WriteBoolean(f.Name, value != 0);
            else if (f.IsSigned) w.WriteNumber(f.Name, (long)value);
            else w.WriteNumber(f.Name, value);
        }
        foreach (var s in RecordLayout.Strings)
            w.WriteString(s.Name, System.Text.Encoding.UTF8.GetString(Semantics.StringField(record, s.DescriptorOffset)));
        w.WriteEndObject();
    }
}
