using System.CommandLine;
using Filter.Compiler;
using Filter.Compiler.Import;
using Filter.Compiler.Tools;

namespace Filter.Cli;

/// <summary>
/// The shared <c>--diagnostics text|json|sarif</c> option of every command that compiles (spec/diagnostics.md,
/// "Machine-readable diagnostics"). With json or sarif, errors and warnings go to standard error as one
/// JSON document (also when there are none, so a tool always has a document to read) instead of text.
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

    public static DiagnosticsFormat Get(ParseResult r, Option<string> option) => DiagnosticsOutput.Parse(r.GetValue(option) ?? "text");

    /// <summary>A compilation's warnings and errors, in source order of kind (warnings first, as text prints them).</summary>
    public static void Write(CliIO io, DiagnosticsFormat format, Compilation compilation, string sourceName, IEnumerable<Diagnostic>? more = null)
    {
        var all = compilation.Warnings.Concat(compilation.Diagnostics).Concat(more ?? []);
        io.Stderr.Write(DiagnosticsOutput.Render(format, all.Select(d => DiagnosticEntry.From(d, compilation.Source, sourceName))));
    }

    /// <summary>auditctl import findings.</summary>
    public static void Write(CliIO io, DiagnosticsFormat format, IEnumerable<ImportDiagnostic> diagnostics, bool strict) =>
        io.Stderr.Write(DiagnosticsOutput.Render(format, diagnostics.Select(d => DiagnosticEntry.From(d, strict))));

    /// <summary>
    /// A filter fragment that failed to compile (the ids scope): its diagnostics as a document, or the text
    /// error already rendered.
    /// </summary>
    public static int Fail(CliIO io, DiagnosticsFormat format, string? fragment, string sourceName, string textError)
    {
        // A fragment that compiles alone but not in its context has no positioned diagnostics of its own.
        var alone = format == DiagnosticsFormat.Text || fragment is null ? null : FilterCompiler.Compile(fragment);
        if (alone is null or { Success: true }) return io.Fail(CliIO.UsageError, textError);
        Write(io, format, alone, sourceName);
        return CliIO.UsageError;
    }
}
