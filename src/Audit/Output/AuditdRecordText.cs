using System.Globalization;
using System.Text;
using Filter.Audit.Formats;

namespace Filter.Audit.Output;

/// <summary>One field of a record: its name and its value as logged, quotes removed (<c>comm="ls"</c> → <c>ls</c>).</summary>
public readonly record struct AuditdField(string Name, string Value, bool Quoted);

/// <summary>
/// One line of an auditd log taken apart for printing: <c>[node=NAME ]type=TYPE msg=audit(SEC.MSEC:SERIAL): TEXT[\x1dENRICHED]</c>
/// into its header, the fields of the kernel's text and those of the ENRICHED part. A field is
/// <c>NAME=VALUE</c>; a value is a word, a <c>"double-quoted"</c> string or a <c>'single-quoted'</c> one;
/// user-space messages carry their own fields inside <c>msg='...'</c>, which count as fields of the record
/// (as ausearch reads them). Words that are not fields (<c>avc:  denied  { read } for</c>) are kept, in
/// order, as <see cref="Words"/>. Nothing here decides a filter: this is for output.
/// </summary>
public sealed class AuditdRecordText
{
    private AuditdRecordText(string? node, string type, AuditdEventId id, IReadOnlyList<AuditdField> fields,
        IReadOnlyList<AuditdField> enriched, IReadOnlyList<string> words)
    {
        (Node, Type, Id, Fields, Enriched, Words) = (node, type, id, fields, enriched, words);
    }

    public string? Node { get; }
    public string Type { get; }
    public AuditdEventId Id { get; }
    public IReadOnlyList<AuditdField> Fields { get; }
    /// <summary>The fields after the <c>\x1d</c> separator of an ENRICHED log (upper-case names), or none.</summary>
    public IReadOnlyList<AuditdField> Enriched { get; }
    public IReadOnlyList<string> Words { get; }

    /// <summary>The value of the first field named <paramref name="name"/>, or null.</summary>
    public string? this[string name] => Fields.FirstOrDefault(f => f.Name == name) is { Name: not null } f ? f.Value : null;

    /// <summary>The value of the ENRICHED field <paramref name="name"/> (upper case), or null.</summary>
    public string? EnrichedValue(string name) => Enriched.FirstOrDefault(f => f.Name == name) is { Name: not null } f ? f.Value : null;

    /// <summary>Takes <paramref name="line"/> (without '\n') apart; null when it has no record header.</summary>
    public static AuditdRecordText? Parse(ReadOnlySpan<byte> line)
    {
        string text = Encoding.UTF8.GetString(line.EndsWith((byte)'\r') ? line[..^1] : line);
        int p = 0;
        string? node = null;
        if (text.StartsWith("node=", StringComparison.Ordinal))
        {
            int space = text.IndexOf(' ');
            if (space < 0) return null;
            node = text[5..space];
            p = space + 1;
        }
        if (string.CompareOrdinal(text, p, "type=", 0, 5) != 0) return null;
        int typeEnd = text.IndexOf(' ', p);
        if (typeEnd < 0) return null;
        string type = text[(p + 5)..typeEnd];
        p = typeEnd + 1;
        if (string.CompareOrdinal(text, p, "msg=audit(", 0, 10) != 0) return null;
        int close = text.IndexOf("):", p, StringComparison.Ordinal);
        if (close < 0 || !TryId(text.AsSpan(p + 10, close - p - 10), out var id)) return null;
        p = close + 2;
        int separator = text.IndexOf('\x1d', p);
        string body = separator < 0 ? text[p..] : text[p..separator];
        var fields = new List<AuditdField>();
        var words = new List<string>();
        Split(body, fields, words, nested: true);
        var enriched = new List<AuditdField>();
        if (separator >= 0) Split(text[(separator + 1)..], enriched, words, nested: false);
        return new AuditdRecordText(node, type, id, fields, enriched, words);
    }

    /// <summary>
    /// A record of the JSON-lines format as the kernel would log it (a SYSCALL record, or the ANOM_ABEND
    /// record of a signal record), so that it prints and counts as a log's record does. It has no id.
    /// </summary>
    public static AuditdRecordText FromRecord(Record record)
    {
        var fields = new List<AuditdField>();
        void Add(string name, string value, bool quoted = false) => fields.Add(new AuditdField(name, value, quoted));
        static string Number(ulong value) => value.ToString(CultureInfo.InvariantCulture);
        bool signal = record.Bytes[RecordLayout.Type] == RecordLayout.EventTypeSignal;
        if (!signal)
        {
            Add("arch", record.Arch.ToString("x", CultureInfo.InvariantCulture));
            Add("syscall", record.Syscall.ToString(CultureInfo.InvariantCulture));
            Add("success", record.Success ? "yes" : "no");
            Add("exit", record.Exit.ToString(CultureInfo.InvariantCulture));
            for (int i = 0; i < 6; i++) Add($"a{i}", record.U64(RecordLayout.A0 + 8 * i).ToString("x", CultureInfo.InvariantCulture));
            Add("ppid", Number(record.U32(RecordLayout.Ppid)));
        }
        Add("pid", Number(record.U32(RecordLayout.Pid)));
        Add("auid", Number(record.U32(RecordLayout.Auid)));
        Add("uid", Number(record.U32(RecordLayout.Uid)));
        Add("gid", Number(record.U32(RecordLayout.Gid)));
        if (!signal)
            foreach (var (name, offset) in new[] { ("euid", RecordLayout.Euid), ("suid", RecordLayout.Suid), ("fsuid", RecordLayout.Fsuid),
                ("egid", RecordLayout.Egid), ("sgid", RecordLayout.Sgid), ("fsgid", RecordLayout.Fsgid) })
                Add(name, Number(record.U32(offset)));
        Add("ses", Number(record.U32(RecordLayout.Ses)));
        Add("comm", Interpretation.Text(record.Comm), quoted: true);
        Add("exe", Interpretation.Text(record.Exe), quoted: true);
        if (signal) Add("sig", Number(record.U32(RecordLayout.Sig)));
        return new AuditdRecordText(null, signal ? "ANOM_ABEND" : "SYSCALL", default, fields, [], []);
    }

    private static bool TryId(ReadOnlySpan<char> id, out AuditdEventId value)
    {
        value = default;
        int dot = id.IndexOf('.'), colon = id.IndexOf(':');
        return dot > 0 && colon > dot
            && ulong.TryParse(id[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out ulong seconds)
            && ulong.TryParse(id[(dot + 1)..colon], NumberStyles.None, CultureInfo.InvariantCulture, out ulong millis)
            && ulong.TryParse(id[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out ulong serial)
            && AuditdEventId.TryCreate(seconds, millis, serial, out value);
    }

    private static void Split(string text, List<AuditdField> fields, List<string> words, bool nested)
    {
        int i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && text[i] == ' ') i++;
            if (i >= text.Length) break;
            int eq = -1, j = i;
            while (j < text.Length && text[j] != ' ')
            {
                if (text[j] == '=' && eq < 0) { eq = j; break; }
                j++;
            }
            if (eq <= i)
            {
                // A word that is not NAME=VALUE.
                int end = text.IndexOf(' ', i);
                if (end < 0) end = text.Length;
                words.Add(text[i..end]);
                i = end;
                continue;
            }
            string name = text[i..eq];
            int v = eq + 1;
            if (v < text.Length && (text[v] == '"' || text[v] == '\''))
            {
                char quote = text[v];
                int end = text.IndexOf(quote, v + 1);
                if (end < 0) end = text.Length;
                string value = text[(v + 1)..Math.Min(end, text.Length)];
                if (nested && quote == '\'' && name == "msg") Split(value, fields, words, nested: false);
                else Add(fields, name, value, quoted: true);
                i = Math.Min(end + 1, text.Length);
            }
            else
            {
                int end = text.IndexOf(' ', v);
                if (end < 0) end = text.Length;
                Add(fields, name, text[v..end], quoted: false);
                i = end;
            }
        }
    }

    /// <summary>A name given twice in one record keeps both values: the second as NAME#2, and so on.</summary>
    private static void Add(List<AuditdField> fields, string name, string value, bool quoted)
    {
        string unique = name;
        for (int n = 2; fields.Exists(f => f.Name == unique); n++) unique = $"{name}#{n}";
        fields.Add(new AuditdField(unique, value, quoted));
    }
}
