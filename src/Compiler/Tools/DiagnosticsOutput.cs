using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Filter.Compiler.Import;

namespace Filter.Compiler.Tools;

/// <summary>How <c>filterc</c> prints diagnostics (<c>--diagnostics</c>).</summary>
public enum DiagnosticsFormat { Text, Json, Sarif }

/// <summary>
/// One diagnostic, positioned in lines and columns (1-based; columns count UTF-16 code units, as C# strings
/// do; <see cref="EndColumn"/> is one past the last character, as in SARIF). <see cref="Suggestion"/> is the
/// "did you mean" replacement for the span, if the message offers one.
/// </summary>
public sealed record DiagnosticEntry(string Code, string Severity, string Message, string File,
    int Line, int Column, int EndLine, int EndColumn, string? Suggestion)
{
    private static readonly Regex DidYouMean = new(@"\(did you mean '([^']*)'\?\)", RegexOptions.CultureInvariant);

    public static DiagnosticEntry From(Diagnostic d, string sourceText, string sourceName)
    {
        var (line, column) = Diagnostic.LineColumn(sourceText, d.Span.Start);
        var (endLine, endColumn) = Diagnostic.LineColumn(sourceText, Math.Max(d.Span.Start, d.Span.End));
        return new DiagnosticEntry(d.CodeText, d.Severity == Compiler.Severity.Error ? "error" : "warning", d.Message, sourceName,
            line, column, endLine, endColumn, SuggestionIn(d.Message));
    }

    /// <summary>
    /// An auditctl import finding. Import findings have no FLT code: their code names their kind
    /// (spec/diagnostics.md, "Machine-readable diagnostics"); the severity depends on <c>--strict</c>.
    /// </summary>
    public static DiagnosticEntry From(ImportDiagnostic d, bool strict)
    {
        string code = d.Kind switch
        {
            ImportIssue.Ignored => "auditctl-ignored",
            ImportIssue.Note => "auditctl-note",
            ImportIssue.Unsupported => "auditctl-unsupported",
            ImportIssue.Inexact => "auditctl-inexact",
            _ => "auditctl-invalid",
        };
        return new DiagnosticEntry(code, d.SeverityText(strict), d.Message, d.Source, d.Line, d.Column, d.Line, d.Column + Math.Max(1, d.Length), SuggestionIn(d.Message));
    }

    private static string? SuggestionIn(string message) => DidYouMean.Match(message) is { Success: true } m ? m.Groups[1].Value : null;
}

/// <summary>Diagnostics as a JSON document or a SARIF 2.1.0 log (spec/diagnostics.md, "Machine-readable diagnostics").</summary>
public static class DiagnosticsOutput
{
    public const string SarifSchema = "https://json.schemastore.org/sarif-2.1.0.json";

    /// <summary>
    /// The tools' JSON: source text as written (<c>&amp;&amp;</c>, quotes, non-ASCII), escaping only what JSON
    /// requires, since it is read by tools and people, not embedded in HTML.
    /// </summary>
    internal static JsonWriterOptions Readable(bool indented) =>
        new() { Indented = indented, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static DiagnosticsFormat Parse(string name) => name switch
    {
        "json" => DiagnosticsFormat.Json,
        "sarif" => DiagnosticsFormat.Sarif,
        "text" => DiagnosticsFormat.Text,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "expected text, json or sarif"),
    };

    /// <summary><c>{"version": 1, "diagnostics": [...]}</c>, or a SARIF log: one document on one line, ending in a newline.</summary>
    public static string Render(DiagnosticsFormat format, IEnumerable<DiagnosticEntry> entries)
    {
        if (format == DiagnosticsFormat.Text) throw new ArgumentException("text diagnostics are rendered by the diagnostics themselves", nameof(format));
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
            else WriteSarif(w, entries.ToList());
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    internal static void WriteJsonArray(Utf8JsonWriter w, IEnumerable<DiagnosticEntry> entries)
    {
        w.WriteStartArray();
        foreach (var e in entries)
        {
            w.WriteStartObject();
            w.WriteString("code", e.Code);
            w.WriteString("severity", e.Severity);
            w.WriteString("message", e.Message);
            w.WriteString("file", e.File);
            w.WriteNumber("line", e.Line);
            w.WriteNumber("column", e.Column);
            w.WriteNumber("endLine", e.EndLine);
            w.WriteNumber("endColumn", e.EndColumn);
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
            w.WritePropertyName("region");
            WriteRegion(w, e);
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

    private static void WriteRegion(Utf8JsonWriter w, DiagnosticEntry e)
    {
        w.WriteStartObject();
        w.WriteNumber("startLine", e.Line);
        w.WriteNumber("startColumn", e.Column);
        w.WriteNumber("endLine", e.EndLine);
        w.WriteNumber("endColumn", e.EndColumn);
        w.WriteEndObject();
    }
}
