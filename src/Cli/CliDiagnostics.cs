using System.CommandLine;

namespace Filter.Cli;

/// <summary>
/// The shared <c>--diagnostics text|json|sarif</c> option of every command that reads a filter, program or
/// rules file (spec/diagnostics.md, "Machine-readable diagnostics"), and the one way commands print
/// diagnostics: through <see cref="DiagnosticRenderer"/>. With json or sarif, errors and warnings go to
/// standard error as one JSON document (also when there are none, so a tool always has a document to read).
/// </summary>
internal static class CliDiagnostics
{
    public static Option<string> Option()
    {
        var option = new Option<string>("--diagnostics")
        {
            Description = "print errors and warnings as text, json or sarif (SARIF 2.1.0), on standard error",
            DefaultValueFactory = _ => "text",
        };
        option.AcceptOnlyFromAmong("text", "json", "sarif");
        return option;
    }

    public static DiagnosticsFormat Get(ParseResult r, Option<string> option) => DiagnosticRenderer.Parse(r.GetValue(option) ?? "text");

    /// <summary>Prints the diagnostics: as text (nothing when there are none), or as one document.</summary>
    public static void Write(CliIO io, DiagnosticsFormat format, IEnumerable<Diagnostic> diagnostics)
    {
        var list = diagnostics.ToList();
        if (format == DiagnosticsFormat.Text && list.Count == 0) return;
        io.Stderr.Write(DiagnosticRenderer.Render(format, list));
    }
}
