using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Filter;

/// <summary>How <c>filterc</c> prints diagnostics (<c>--diagnostics</c>).</summary>
public enum DiagnosticsFormat { Text, Json, Sarif }

/// <summary>
/// One diagnostic as the machine-readable forms give it: positioned in lines and columns (1-based; columns
/// count UTF-16 code units, as C# strings do; <see cref="EndColumn"/> is one past the last character, as in
/// SARIF), or at an instruction (<see cref="Pc"/>), or in a file as a whole (no position).
/// <see cref="Suggestion"/> is the "did you mean" replacement for the span, if the message offers one.
/// </summary>
public sealed record DiagnosticEntry(string Code, string Severity, string Message, string File,
    long? Line, int? Column, long? EndLine, int? EndColumn, int? Pc, string? Suggestion)
{
    private static readonly Regex DidYouMean = new(@"\(did you mean '([^']*)'\?\)", RegexOptions.CultureInvariant);

    public static DiagnosticEntry From(Diagnostic d)
    {
        string file = d.File ?? "filter";
        string? suggestion = DidYouMean.Match(d.Message) is { Success: true } m ? m.Groups[1].Value : null;
        var e = new DiagnosticEntry(d.CodeText, d.SeverityText, d.Message, file, null, null, null, null, null, suggestion);
        switch (d.Location.Kind)
        {
            case LocationKind.Text when d.SourceText is { } text:
                var (line, column) = Diagnostic.LineColumn(text, d.Span.Start);
                var (endLine, endColumn) = Diagnostic.LineColumn(text, Math.Max(d.Span.Start, d.Span.End));
                return e with { Line = line, Column = column, EndLine = endLine, EndColumn = endColumn };
            case LocationKind.Line:
                int start = Math.Max(1, d.Location.Column);
                return e with { Line = d.Location.Line, Column = start, EndLine = d.Location.Line, EndColumn = d.Location.Column > 0 ? start + Math.Max(1, d.Location.Length) : start };
            case LocationKind.Instruction:
                return e with { Pc = d.Location.Pc, Suggestion = null };
            default:
                return e with { Suggestion = null };
        }
    }
}

/// <summary>
/// The one renderer of diagnostics: the text form (<see cref="Diagnostic.Render()"/>, one after another), a
/// JSON document or a SARIF 2.1.0 log (spec/diagnostics.md, "Machine-readable diagnostics").
/// </summary>
public static class DiagnosticRenderer
{
    public const string SarifSchema = "https://json.schemastore.org/sarif-2.1.0.json";

    /// <summary>
    /// The tools' JSON: source text as written (<c>&amp;&amp;</c>, quotes, non-ASCII), escaping only what JSON
    /// requires, since it is read by tools and people, not embedded in HTML.
    /// </summary>
    public static JsonWriterOptions Readable(bool indented) =>
        new() { Indented = indented, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static DiagnosticsFormat Parse(string name) => name switch
    {
        "json" => DiagnosticsFormat.Json,
        "sarif" => DiagnosticsFormat.Sarif,
        "text" => DiagnosticsFormat.Text,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "expected text, json or sarif"),
    };

    /// <summary>How many diagnostics with the same file, severity, code and message text prints in full.</summary>
    public const int RepeatsShown = 3;

    /// <summary>
    /// Text: each diagnostic's text form, one after another, each ending in a newline; past
    /// <see cref="RepeatsShown"/> diagnostics with the same file, severity, code and message, the rest are
    /// counted instead, and after all the others one line per such finding says how many more there were and
    /// on which lines (an imported rule set's 300 watches, each with the same warning). JSON or SARIF:
    /// <c>{"version": 1, "diagnostics": [...]}</c> or a SARIF log with every diagnostic, one document on one
    /// line, ending in a newline.
    /// </summary>
    public static string Render(DiagnosticsFormat format, IEnumerable<Diagnostic> diagnostics)
    {
        if (format == DiagnosticsFormat.Text)
            return RenderText(diagnostics);
        var entries = diagnostics.Select(DiagnosticEntry.From).ToList();
        using var stream = new MemoryStream();
        // One line: the first line of standard error is the whole document, whatever the command prints after it.
        using (var w = new Utf8JsonWriter(stream, Readable(indented: false)))
        {
            if (format == DiagnosticsFormat.Json)
            {
                w.WriteStartObject();
                w.WriteNumber("version", 1);
                w.WritePropertyName("diagnostics");
                WriteJsonArray(w, entries);
                w.WriteEndObject();
            }
            else WriteSarif(w, entries);
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static string RenderText(IEnumerable<Diagnostic> diagnostics)
    {
        var text = new StringBuilder();
        var seen = new Dictionary<(string?, Severity, DiagnosticCode, string), Repeats>();
        var folded = new List<Repeats>();
        var newlines = new Dictionary<string, int[]>(ReferenceEqualityComparer.Instance);
        foreach (var d in diagnostics)
        {
            var key = (d.File, d.Severity, d.Code, d.Message);
            if (!seen.TryGetValue(key, out var repeats)) seen[key] = repeats = new Repeats(d);
            if (++repeats.Count <= RepeatsShown)
            {
                text.Append(d.Render()).Append('\n');
                continue;
            }
            if (repeats.More.Count == 0) folded.Add(repeats);
            repeats.More.Add(LineOf(d, newlines));
        }
        foreach (var r in folded)
        {
            string where = r.More.All(l => l > 0) ? $", on {(r.More.Count == 1 ? "line" : "lines")} {Ranges(r.More)}" : "";
            text.Append($"{r.First.File ?? "filter"}: {r.First.SeverityText} {r.First.CodeText}: {r.More.Count} more as above{where} (--diagnostics json lists each)\n");
        }
        return text.ToString();
    }

    private sealed class Repeats(Diagnostic first)
    {
        public readonly Diagnostic First = first;
        public int Count;
        public readonly List<long> More = [];
    }

    /// <summary>
    /// The line a diagnostic points at, or 0 when it points at no line. <paramref name="newlines"/> keeps each
    /// source text's newline offsets: thousands of diagnostics in one large text are counted in log time each.
    /// </summary>
    private static long LineOf(Diagnostic d, Dictionary<string, int[]> newlines)
    {
        if (d.Location.Kind == LocationKind.Line) return d.Location.Line;
        if (d.Location.Kind != LocationKind.Text || d.SourceText is not { } text) return 0;
        if (!newlines.TryGetValue(text, out var at))
        {
            var found = new List<int>();
            for (int i = text.IndexOf('\n'); i >= 0; i = text.IndexOf('\n', i + 1)) found.Add(i);
            newlines[text] = at = [.. found];
        }
        // Line 1 + the newlines before the offset (as Diagnostic.LineColumn counts).
        int index = Array.BinarySearch(at, d.Span.Start);
        return 1 + (index >= 0 ? index : ~index);
    }

    /// <summary><c>4, 7-9, 12</c>: ascending numbers, runs of consecutive ones as ranges.</summary>
    private static string Ranges(List<long> numbers)
    {
        var sorted = numbers.Order().ToList();
        var parts = new List<string>();
        for (int i = 0; i < sorted.Count;)
        {
            int j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] <= sorted[j] + 1) j++;
            parts.Add(sorted[i] == sorted[j] ? $"{sorted[i]}" : $"{sorted[i]}-{sorted[j]}");
            i = j + 1;
        }
        return string.Join(", ", parts);
    }

    private static void Number(Utf8JsonWriter w, string name, long? value)
    {
        if (value is { } v) w.WriteNumber(name, v);
        else w.WriteNull(name);
    }

    public static void WriteJsonArray(Utf8JsonWriter w, IEnumerable<DiagnosticEntry> entries)
    {
        w.WriteStartArray();
        foreach (var e in entries)
        {
            w.WriteStartObject();
            w.WriteString("code", e.Code);
            w.WriteString("severity", e.Severity);
            w.WriteString("message", e.Message);
            w.WriteString("file", e.File);
            Number(w, "line", e.Line);
            Number(w, "column", e.Column);
            Number(w, "endLine", e.EndLine);
            Number(w, "endColumn", e.EndColumn);
            if (e.Pc is { } pc) w.WriteNumber("pc", pc);
            if (e.Suggestion is null) w.WriteNull("suggestion");
            else w.WriteString("suggestion", e.Suggestion);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteSarif(Utf8JsonWriter w, List<DiagnosticEntry> entries)
    {
        var rules = entries.Select(e => e.Code).Distinct().ToList();
        w.WriteStartObject();
        w.WriteString("$schema", SarifSchema);
        w.WriteString("version", "2.1.0");
        w.WriteStartArray("runs");
        w.WriteStartObject();
        w.WriteStartObject("tool");
        w.WriteStartObject("driver");
        w.WriteString("name", "filterc");
        w.WriteStartArray("rules");
        foreach (var id in rules)
        {
            w.WriteStartObject();
            w.WriteString("id", id);
            if (DiagnosticDescriptions.Markdown(id) is { } markdown)
            {
                w.WriteStartObject("shortDescription");
                w.WriteString("text", DiagnosticDescriptions.Text(id));
                w.WriteString("markdown", markdown);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteString("columnKind", "utf16CodeUnits");
        w.WriteStartArray("results");
        foreach (var e in entries)
        {
            w.WriteStartObject();
            w.WriteString("ruleId", e.Code);
            w.WriteNumber("ruleIndex", rules.IndexOf(e.Code));
            w.WriteString("level", e.Severity);
            w.WriteStartObject("message");
            w.WriteString("text", e.Message);
            w.WriteEndObject();
            w.WriteStartArray("locations");
            w.WriteStartObject();
            w.WriteStartObject("physicalLocation");
            WriteArtifact(w, e);
            if (e.Line is not null || e.Pc is not null)
            {
                w.WritePropertyName("region");
                WriteRegion(w, e);
            }
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndArray();
            if (e.Suggestion is not null)
            {
                // "Did you mean" as a fix: replace the span with the suggestion.
                w.WriteStartArray("fixes");
                w.WriteStartObject();
                w.WriteStartObject("description");
                w.WriteString("text", $"replace with '{e.Suggestion}'");
                w.WriteEndObject();
                w.WriteStartArray("artifactChanges");
                w.WriteStartObject();
                WriteArtifact(w, e);
                w.WriteStartArray("replacements");
                w.WriteStartObject();
                w.WritePropertyName("deletedRegion");
                WriteRegion(w, e);
                w.WriteStartObject("insertedContent");
                w.WriteString("text", e.Suggestion);
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndArray();
                w.WriteEndObject();
                w.WriteEndArray();
                w.WriteEndObject();
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteArtifact(Utf8JsonWriter w, DiagnosticEntry e)
    {
        w.WriteStartObject("artifactLocation");
        w.WriteString("uri", e.File);
        w.WriteEndObject();
    }

    /// <summary>A line region, or for an instruction its 16 bytes in the program file (after the 32-byte header).</summary>
    private static void WriteRegion(Utf8JsonWriter w, DiagnosticEntry e)
    {
        w.WriteStartObject();
        if (e.Pc is { } pc)
        {
            w.WriteNumber("byteOffset", pc < 0 ? 0 : Bytecode.ProgramImage.HeaderSize + pc * Bytecode.InstructionSet.InstructionSize);
            w.WriteNumber("byteLength", pc < 0 ? Bytecode.ProgramImage.HeaderSize : Bytecode.InstructionSet.InstructionSize);
        }
        else
        {
            w.WriteNumber("startLine", e.Line!.Value);
            w.WriteNumber("startColumn", e.Column!.Value);
            w.WriteNumber("endLine", e.EndLine!.Value);
            w.WriteNumber("endColumn", e.EndColumn!.Value);
        }
        w.WriteEndObject();
    }
}
