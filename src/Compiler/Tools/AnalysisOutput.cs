using System.Globalization;
using System.Text;
using System.Text.Json;
using Filter.Compiler.Analysis;
using Filter.Compiler.Binding;

namespace Filter.Compiler.Tools;

/// <summary><c>filterc analyze</c>'s output: text for people, JSON for tools (the schema is in spec/tools.md).</summary>
public static class AnalysisOutput
{
    /// <summary>Named syscalls listed in text output before it only counts them.</summary>
    private const int MaxNamesShown = 12;

    public static string Text(PolicyReport report, string sourceText, string sourceName)
    {
        var sb = new StringBuilder();
        var w = report.WorstCase;
        sb.Append(CultureInfo.InvariantCulture, $"{sourceName}: {report.Rules.Count} rule{(report.Rules.Count == 1 ? "" : "s")}, {report.InstructionCount} instructions\n");
        sb.Append(CultureInfo.InvariantCulture, $"worst case: at most {w.Instructions} instructions executed per record (the longest path through the code); ")
            .Append(w.Witness is not null ? "attained"
                : w.LongestRecord is null ? "no record found that takes a path (bound not shown attained)"
                : w.LongestIsExact ? $"the longest path is infeasible: the true worst case is {w.Longest}"
                : $"the longest run found takes {w.Longest}").Append('\n');
        sb.Append("syscalls the policy can match (records of other syscalls need not be built):\n");
        AppendSets(sb, report.Policy, "  ");
        foreach (var rule in report.Rules)
        {
            sb.Append(CultureInfo.InvariantCulture, $"rule {rule.Index + 1} (line {rule.Line}) {PrintableText.Escape(rule.Text)}\n");
            sb.Append("  ").Append(rule.Status switch
            {
                RuleStatus.NeverMatches => "never matches",
                RuleStatus.Shadowed => $"shadowed by {string.Join(", ", rule.OverlappingEarlier.Select(j => $"rule {j + 1}"))}: never decides",
                RuleStatus.MayNeverDecide => "may never decide (no record found on which it decides)",
                _ => rule.Kind == RuleAction.Never ? "decides (drop) on:" : $"decides (verdict {rule.Verdict}) on:",
            });
            if (rule.WorstCase is { } rw) sb.Append(CultureInfo.InvariantCulture, $"  [at most {rw} instructions when it decides]");
            sb.Append('\n');
            if (rule.Status is RuleStatus.Decides or RuleStatus.MayNeverDecide) AppendSets(sb, rule.Decides, "    ");
        }
        foreach (var warning in report.Warnings) sb.Append(warning.Render(sourceText, sourceName)).Append('\n');
        return sb.ToString();
    }

    private static void AppendSets(StringBuilder sb, IReadOnlyList<ArchSyscalls> sets, string indent)
    {
        foreach (var a in sets)
        {
            sb.Append(indent).Append(a.Arch).Append(": ").Append(a.Set.ToString());
            var names = a.Names;
            if (names.Count > 0 && !a.Set.IsAll)
            {
                if (names.Count <= MaxNamesShown) sb.Append(" (").Append(string.Join(' ', names)).Append(')');
                else
                {
                    var missing = Complement(a);
                    sb.Append(CultureInfo.InvariantCulture, $" ({names.Count} named syscalls")
                        .Append(missing.Count is > 0 and <= MaxNamesShown ? $": all but {string.Join(' ', missing)})" : ")");
                }
            }
            if (!a.Exact) sb.Append(" [may be an over-approximation: no matching record found for ").Append(a.Unproven).Append(']');
            sb.Append('\n');
        }
    }

    private static List<string> Complement(ArchSyscalls a) => a.ArchValue is { } arch ? a.Set.Complement().Names(arch).ToList() : [];

    // ---------------------------------------------------------------- JSON

    /// <summary>What identifies a rule in the JSON of analyze and explain (spec/tools.md): index (1-based), kind, key, verdict, line, text.</summary>
    internal static void WriteRuleFields(Utf8JsonWriter w, int index, RuleAction kind, string? key, int verdict, int line, string text)
    {
        w.WriteNumber("index", index + 1);
        w.WriteString("kind", kind == RuleAction.Always ? "always" : "never");
        if (key is not null) w.WriteString("key", key);
        w.WriteNumber("verdict", verdict);
        w.WriteNumber("line", line);
        w.WriteString("text", text);
    }

    /// <summary>The report as one JSON document (spec/tools.md, "analyze --json").</summary>
    public static string Json(PolicyReport report, string sourceText, string sourceName)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, DiagnosticRenderer.Readable(indented: true)))
        {
            w.WriteStartObject();
            w.WriteNumber("version", 1);
            w.WriteString("file", sourceName);
            w.WriteNumber("instructionCount", report.InstructionCount);
            w.WriteStartObject("worstCase");
            w.WriteNumber("instructions", report.WorstCase.Instructions);
            w.WriteBoolean("attained", report.WorstCase.Witness is not null);
            w.WriteNumber("longestFound", report.WorstCase.Longest);
            w.WriteBoolean("longestFoundIsExact", report.WorstCase.LongestIsExact);
            w.WriteStartArray("perVerdict");
            foreach (int n in report.WorstCase.PerVerdict) w.WriteNumberValue(n);
            w.WriteEndArray();
            w.WriteEndObject();
            WriteSets(w, "syscalls", report.Policy);
            w.WriteStartArray("rules");
            foreach (var rule in report.Rules)
            {
                w.WriteStartObject();
                WriteRuleFields(w, rule.Index, rule.Kind, rule.Key, rule.Verdict, rule.Line, rule.Text);
                w.WriteString("status", rule.Status switch
                {
                    RuleStatus.NeverMatches => "never-matches",
                    RuleStatus.Shadowed => "shadowed",
                    RuleStatus.MayNeverDecide => "may-never-decide",
                    _ => "decides",
                });
                w.WriteStartArray("overlapsEarlier");
                foreach (int j in rule.OverlappingEarlier) w.WriteNumberValue(j + 1);
                w.WriteEndArray();
                if (rule.WorstCase is { } rw) w.WriteNumber("worstCase", rw);
                WriteSets(w, "matches", rule.Matches);
                WriteSets(w, "decides", rule.Decides);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WritePropertyName("warnings");
            DiagnosticRenderer.WriteJsonArray(w, report.Warnings.Select(d => DiagnosticEntry.From(d.In(sourceName, sourceText))));
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static void WriteSets(Utf8JsonWriter w, string name, IReadOnlyList<ArchSyscalls> sets)
    {
        w.WriteStartArray(name);
        foreach (var a in sets)
        {
            w.WriteStartObject();
            w.WriteString("arch", a.Arch);
            if (a.ArchValue is { } v) w.WriteString("archValue", $"0x{v:x8}");
            w.WriteBoolean("all", a.Set.IsAll);
            w.WritePropertyName("ranges");
            WriteRanges(w, a.Set);
            w.WriteStartArray("names");
            foreach (var n in a.Names) w.WriteStringValue(n);
            w.WriteEndArray();
            w.WriteBoolean("exact", a.Exact);
            w.WritePropertyName("unproven");
            WriteRanges(w, a.Unproven);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>A set as [[lo, hi], ...], inclusive.</summary>
    private static void WriteRanges(Utf8JsonWriter w, SyscallSet set)
    {
        w.WriteStartArray();
        foreach (var r in set.Ranges)
        {
            w.WriteStartArray();
            w.WriteNumberValue(r.Lo);
            w.WriteNumberValue(r.Hi);
            w.WriteEndArray();
        }
        w.WriteEndArray();
    }
}
