using Filter.Compiler.Binding;
using Filter.Compiler.CodeGen;
using Filter.Compiler.Syntax;
using Filter.VM;

namespace Filter.Compiler;

/// <summary>The result of compiling a filter: the bound tree and the unverified program, or diagnostics.</summary>
public sealed record Compilation(string Source, BoundBool? Bound, ProgramImage? Image, IReadOnlyList<Diagnostic> Diagnostics)
{
    /// <summary>Legal but suspicious constructs (spec/diagnostics.md); they do not stop compilation.</summary>
    public IReadOnlyList<Diagnostic> Warnings { get; init; } = [];

    public bool Success => Image is not null && Diagnostics.Count == 0;

    /// <summary>Every error rendered with its caret line.</summary>
    public string RenderDiagnostics(string sourceName = "filter") =>
        string.Join("\n", Diagnostics.Select(d => d.Render(Source, sourceName)));

    /// <summary>Every warning rendered with its caret line.</summary>
    public string RenderWarnings(string sourceName = "filter") =>
        string.Join("\n", Warnings.Select(d => d.Render(Source, sourceName)));
}

/// <summary>
/// Text to bytecode: parse, bind, generate. The output still has to pass the verifier to run; the
/// compiler is not trusted by anything downstream.
/// </summary>
public static class FilterCompiler
{
    public static Compilation Compile(string source)
    {
        var (tree, syntaxError) = FilterParser.Parse(source);
        if (tree is null) return new Compilation(source, null, null, [syntaxError!]);
        var (bound, diagnostics, warnings) = Binder.Bind(tree);
        if (bound is null) return new Compilation(source, null, null, diagnostics) { Warnings = warnings };
        var (image, error) = CodeGenerator.Generate(bound);
        return error is null
            ? new Compilation(source, bound, image, []) { Warnings = warnings }
            : new Compilation(source, bound, null, [error]) { Warnings = warnings };
    }
}
