using System.Globalization;
using System.Text;
using System.Text.Json;
using Filter.Compiler.Tools;

namespace Filter.Audit.Output;

/// <summary>What a report counts events by.</summary>
public enum ReportBy
{
    /// <summary>The audit key logged with the event (<c>key=</c> of its SYSCALL record, as <c>aureport -k</c>).</summary>
    Key,
    /// <summary>The key of the policy rule that matched it (as <c>run --keys</c> prints).</summary>
    Rule,
    Syscall,
    Exe,
    Comm,
    Uid,
    Auid,
    Success,
}

/// <summary>
/// Counts of matching events per value of one or more fields, like aureport's summaries
/// (<c>aureport -k --summary</c>): per audit key, rule key, system call, executable, command, user, login
/// user, success. A value is read from the event's first record that has the field (its SYSCALL record
/// first), interpreted as ausearch <c>-i</c> would (<see cref="Interpretation"/>: names, not numbers);
/// an event without it counts under <c>(none)</c>. A key field holding several keys counts once for each.
/// </summary>
public sealed class EventReport(IReadOnlyList<ReportBy> by)
{
    public const string None = "(none)";

    private readonly Dictionary<string, long>[] _counts = [.. by.Select(_ => new Dictionary<string, long>(StringComparer.Ordinal))];

    public IReadOnlyList<ReportBy> By => by;

    /// <summary>Events counted.</summary>
    public long Events { get; private set; }

    /// <summary>Counts an event of these records, matched by the rule of <paramref name="ruleKey"/>.</summary>
    public void Add(IReadOnlyList<AuditdRecordText> records, string? ruleKey)
    {
        Events++;
        for (int i = 0; i < by.Count; i++)
            foreach (var value in Values(by[i], records, ruleKey))
                _counts[i][value] = _counts[i].GetValueOrDefault(value) + 1;
    }

    private static IEnumerable<string> Values(ReportBy what, IReadOnlyList<AuditdRecordText> records, string? ruleKey)
    {
        if (what == ReportBy.Rule) return [string.IsNullOrEmpty(ruleKey) ? None : PrintableText.Escape(ruleKey)];
        string name = what.ToString().ToLowerInvariant();
        var syscall = records.FirstOrDefault(r => r.Type == "SYSCALL");
        var record = what is ReportBy.Syscall or ReportBy.Success || syscall?[name] is not null ? syscall
            : records.FirstOrDefault(r => r[name] is not null);
        if (record?.Fields.FirstOrDefault(f => f.Name == name) is not { Name: not null } field) return [None];
        string value = Interpretation.Value(record, field);
        if (what == ReportBy.Key)
        {
            if (value == "(null)") return [None];
            return value.Split(',', StringSplitOptions.RemoveEmptyEntries);
        }
        return [value];
    }

    /// <summary>The report as aureport prints a summary: per field, a title, then count and value, most first.</summary>
    public string Text()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < by.Count; i++)
        {
            string column = by[i].ToString().ToLowerInvariant();
            string rule = new('=', 34);
            sb.Append('\n').Append(Title(by[i])).Append(" Summary Report\n").Append(rule).Append('\n')
                .Append("total  ").Append(column).Append('\n').Append(rule).Append('\n');
            foreach (var (value, count) in Sorted(i))
                sb.Append(count.ToString(CultureInfo.InvariantCulture)).Append("  ").Append(value).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>The report as JSON: <c>{"events":N,"by":{"syscall":[{"value":"execve","count":12},...],...}}</c>.</summary>
    public void Json(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteNumber("events", Events);
        w.WriteStartObject("by");
        for (int i = 0; i < by.Count; i++)
        {
            w.WriteStartArray(by[i].ToString().ToLowerInvariant());
            foreach (var (value, count) in Sorted(i))
            {
                w.WriteStartObject();
                w.WriteString("value", value);
                w.WriteNumber("count", count);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private IEnumerable<(string Value, long Count)> Sorted(int i) =>
        _counts[i].OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal).Select(c => (c.Key, c.Value));

    private static string Title(ReportBy by) => by switch
    {
        ReportBy.Key => "Key",
        ReportBy.Rule => "Rule Key",
        ReportBy.Syscall => "Syscall",
        ReportBy.Exe => "Executable",
        ReportBy.Comm => "Command",
        ReportBy.Uid => "User",
        ReportBy.Auid => "Login User",
        _ => "Success",
    };
}
