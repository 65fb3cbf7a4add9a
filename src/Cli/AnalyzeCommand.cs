using System.CommandLine;
using Filter.Compiler;
using Filter.Compiler.Tools;
using V = Filter.Verifier;

namespace Filter.Cli;

/// <summary>
/// <c>filterc analyze POLICY [--json]</c>: per arch, the syscalls the policy and each rule can match; rules
/// that never match or never decide; always-true or always-false conditions; the worst-case instructions
/// per record (spec/tools.md). Exit status 0 whatever it finds (its findings are warnings), 2 when the
/// policy does not compile.
/// </summary>
internal static class AnalyzeCommand
{
    public static Command Create(CliIO io)
    {
        var policyFile = new Argument<FileInfo?>("policy") { Arity = ArgumentArity.ZeroOrOne, Description = "the policy (or filter) file" };
        var filter = new Option<string?>("--filter") { Description = "the filter expression, instead of a file" };
        var json = new Option<bool>("--json") { Description = "print the report as JSON (schema: spec/tools.md)" };
        var diagnostics = CliDiagnostics.Option();
        var cmd = new Command("analyze", "what a policy can match, rule by rule, and what it costs per record") { policyFile, filter, json, diagnostics };
        cmd.SetAction(r =>
        {
            if (FilterLoading.Source(r.GetValue(filter), r.GetValue(policyFile), io) is not { } source) return CliIO.UsageError;
            var format = CliDiagnostics.Get(r, diagnostics);
            // The analysis's warnings are part of the report; with --diagnostics json|sarif they also go, with
            // the compiler's, to standard error as one document. Text prints the compiler's warnings there.
            var loaded = FilterLoading.Load(source, io, format, deferDocument: true);
            if (loaded.Program is not { } program) return CliIO.UsageError;
            var (text, name) = (loaded.Text!, source.Name);
            var report = PolicyAnalyzer.Analyze(loaded.Compilation!, program);
            if (format != DiagnosticsFormat.Text) CliDiagnostics.Write(io, format, loaded.Diagnostics.Concat(report.Warnings.Select(d => d.In(name, text))));
            io.WriteText(r.GetValue(json) ? AnalysisOutput.Json(report, text, name) : AnalysisOutput.Text(report, text, name));
            return CliIO.Ok;
        });
        return cmd;
    }
}
