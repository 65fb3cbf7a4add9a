using Filter.Compiler;
using Filter.VM;
using V = Filter.Verifier;

namespace Filter.Cli;

/// <summary>Gets a verified program from an expression, a filter file or a bytecode file, with errors users can act on.</summary>
internal static class FilterLoading
{
    /// <summary>
    /// The filter text of an expression or a file; null after printing why not (a file that is not UTF-8 is a
    /// positioned error, in <paramref name="diagnostics"/>' format: its bytes are never replaced by U+FFFD).
    /// </summary>
    public static string? ReadFilterText(string? expression, FileInfo? file, CliIO io, out string sourceName,
        Filter.Compiler.Tools.DiagnosticsFormat diagnostics = Filter.Compiler.Tools.DiagnosticsFormat.Text)
    {
        sourceName = "filter";
        if (expression is not null && file is not null) { io.Fail(CliIO.UsageError, "error: give a filter expression or -f FILE, not both"); return null; }
        if (file is not null)
        {
            sourceName = file.ToString();
            byte[] bytes;
            try { bytes = File.ReadAllBytes(file.FullName); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            { io.Fail(CliIO.UsageError, $"error: cannot read {file}: {e.Message}"); return null; }
            var (text, error) = FilterText.FromUtf8(bytes);
            if (error is null) return text;
            var failed = new Compilation(text, null, null, [error]);
            if (diagnostics == Filter.Compiler.Tools.DiagnosticsFormat.Text) io.Stderr.WriteLine(failed.RenderDiagnostics(sourceName));
            else CliDiagnostics.Write(io, diagnostics, failed, sourceName);
            return null;
        }
        if (expression is null) { io.Fail(CliIO.UsageError, "error: no filter: give an expression or -f FILE"); return null; }
        return expression;
    }

    /// <summary>Compiles and verifies; prints positioned diagnostics (as text, or one JSON/SARIF document: <see cref="CliDiagnostics"/>).</summary>
    public static (Compilation? Compilation, VerifiedProgram? Program) CompileText(string text, string sourceName, CliIO io,
        Filter.Compiler.Tools.DiagnosticsFormat diagnostics = Filter.Compiler.Tools.DiagnosticsFormat.Text)
    {
        var compilation = FilterCompiler.Compile(text);
        if (diagnostics != Filter.Compiler.Tools.DiagnosticsFormat.Text) CliDiagnostics.Write(io, diagnostics, compilation, sourceName);
        else if (compilation.Warnings.Count > 0) io.Stderr.WriteLine(compilation.RenderWarnings(sourceName));
        if (!compilation.Success)
        {
            if (diagnostics == Filter.Compiler.Tools.DiagnosticsFormat.Text) io.Stderr.WriteLine(compilation.RenderDiagnostics(sourceName));
            return (compilation, null);
        }
        var verified = V.Verifier.Verify(compilation.Image!);
        if (!verified.Ok)
        {
            // The compiler's output is checked like anyone else's; a rejection here is a compiler bug.
            io.Stderr.WriteLine($"{sourceName}: internal error: the compiled program was rejected by the verifier: {verified.Error}");
            return (compilation, null);
        }
        return (compilation, verified.Program);
    }

    public static byte[]? ReadBytes(FileInfo file, CliIO io)
    {
        try { return File.ReadAllBytes(file.FullName); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { io.Fail(CliIO.UsageError, $"error: cannot read {file}: {e.Message}"); return null; }
    }

    public static VerifiedProgram? LoadProgram(FileInfo file, CliIO io)
    {
        var bytes = ReadBytes(file, io);
        if (bytes is null) return null;
        var result = V.Verifier.Verify(bytes);
        if (!result.Ok) { io.Fail(CliIO.UsageError, $"{file}: rejected by the verifier: {result.Error}"); return null; }
        return result.Program;
    }
}
