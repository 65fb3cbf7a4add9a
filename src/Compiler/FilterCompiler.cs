using Filter.Compiler.Binding;
using Filter.Compiler.CodeGen;
using Filter.Compiler.Syntax;
using Filter.VM;

namespace Filter.Compiler;

/// <summary>The result of compiling a filter: the bound tree and the unverified program, or diagnostics.</summary>
public sealed record Compilation(string Source, BoundBool? Bound, ProgramImage? Image, IReadOnlyList<Diagnostic> Diagnostics)
{
    public bool Success => Image is not null && Diagnostics.Count == 0;

    /// <summary>Every diagnostic rendered with its caret line.</summary>
    public string RenderDiagnostics(string sourceName = "filter") =>
        string.Join("\n", Diagnostics.Select(d => d.Render(Source, sourceName)));
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
        var (bound, diagnostics) = Binder.Bind(tree);
        if (bound is null) return new Compilation(source, null, null, diagnostics);
        var (image, error) = CodeGenerator.Generate(bound);
        return error is null
            ? new Compilation(source, bound, image, [])
            : new Compilation(source, bound, null, [error]);
    }
}
