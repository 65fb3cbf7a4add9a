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
            var text = FilterLoading.ReadFilterText(r.GetValue(filter), r.GetValue(policyFile), io, out var name, CliDiagnostics.Get(r, diagnostics));
            if (text is null) return CliIO.UsageError;
            var format = CliDiagnostics.Get(r, diagnostics);
            var compilation = FilterCompiler.Compile(text);
            if (!compilation.Success)
            {
                if (format == DiagnosticsFormat.Text)
                    io.Stderr.WriteLine(string.Join("\n", compilation.Warnings.Concat(compilation.Diagnostics).Select(d => d.Render(text, name))));
                else CliDiagnostics.Write(io, format, compilation, name);
                return CliIO.UsageError;
            }
            var verified = V.Verifier.Verify(compilation.Image!);
            if (!verified.Ok)
                return io.Fail(CliIO.UsageError, $"{name}: internal error: the compiled program was rejected by the verifier: {verified.Error}");

            var report = PolicyAnalyzer.Analyze(compilation, verified.Program!);
            // The analysis's warnings are part of the report; with --diagnostics json|sarif they also go, with
            // the compiler's, to standard error as one document. Text prints the compiler's warnings there.
            if (format != DiagnosticsFormat.Text) CliDiagnostics.Write(io, format, compilation, name, report.Warnings);
            else if (compilation.Warnings.Count > 0) io.Stderr.WriteLine(compilation.RenderWarnings(name));
            io.WriteText(r.GetValue(json) ? AnalysisOutput.Json(report, text, name) : AnalysisOutput.Text(report, text, name));
            return CliIO.Ok;
        });
        return cmd;
    }
}
