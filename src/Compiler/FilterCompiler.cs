using Filter.Compiler.Binding;
using Filter.Compiler.CodeGen;
using Filter.Compiler.Syntax;

namespace Filter.Compiler;

/// <summary>
/// The result of compiling a filter or policy: the bound policy and the unverified program, or diagnostics.
/// <paramref name="Bound"/> is the condition for a non-zero verdict (<see cref="BoundPolicy.MatchCondition"/>):
/// for a single-expression filter, that expression.
/// </summary>
public sealed record Compilation(string Source, BoundBool? Bound, ProgramImage? Image, IReadOnlyList<Diagnostic> Diagnostics)
{
    /// <summary>Legal but suspicious constructs (spec/diagnostics.md); they do not stop compilation.</summary>
    public IReadOnlyList<Diagnostic> Warnings { get; init; } = [];

    /// <summary>The bound rules, in source order (null when binding failed).</summary>
    public BoundPolicy? Policy { get; init; }

    /// <summary>The key of each verdict: <c>Keys[k - 1]</c> is verdict k's key, as in <see cref="ProgramImage.Keys"/>.</summary>
    public IReadOnlyList<string> Keys => Policy?.Keys ?? [];

    /// <summary>The key of a verdict; null for verdict 0 ("drop") or one out of range.</summary>
    public string? KeyOf(uint verdict) => verdict >= 1 && verdict <= Keys.Count ? Keys[(int)verdict - 1] : null;

    public bool Success => Image is not null && Diagnostics.Count == 0;

    /// <summary>Every error rendered with its caret line.</summary>
    public string RenderDiagnostics(string sourceName = "filter") =>
        string.Join("\n", Diagnostics.Select(d => d.Render(Source, sourceName)));

    /// <summary>Every warning rendered with its caret line.</summary>
    public string RenderWarnings(string sourceName = "filter") =>
        string.Join("\n", Warnings.Select(d => d.Render(Source, sourceName)));
}

/// <summary>Code generation choices; the defaults are what <c>filterc</c> uses.</summary>
public sealed record CompilerOptions
{
    public static CompilerOptions Default { get; } = new();

    /// <summary>Start a policy of two or more rules with the shared syscall dispatch (spec/language.md, "Policies").
    /// Off only to check, in tests, that the dispatch never changes a verdict.</summary>
    public bool SyscallDispatch { get; init; } = true;

    /// <summary>The zone of date literals written without Z or an offset: the machine's local time by default, as
    /// ausearch reads times (tests pass a fixed zone).</summary>
    public TimeZoneInfo TimeZone { get; init; } = TimeZoneInfo.Local;
}

/// <summary>
/// Text to bytecode: parse, bind, generate. The output still has to pass the verifier to run; the
/// compiler is not trusted by anything downstream.
/// </summary>
public static class FilterCompiler
{
    public static Compilation Compile(string source, CompilerOptions? options = null)
    {
        options ??= CompilerOptions.Default;
        var (tree, syntaxError) = FilterParser.Parse(source);
        if (tree is null) return new Compilation(source, null, null, [syntaxError!]);
        var (policy, diagnostics, warnings) = Binder.Bind(tree, source, options.TimeZone);
        if (policy is null) return new Compilation(source, null, null, diagnostics) { Warnings = warnings };
        var (image, error) = CodeGenerator.Generate(policy, options.SyscallDispatch);
        return new Compilation(source, policy.MatchCondition, error is null ? image : null, error is null ? [] : [error])
            { Warnings = warnings, Policy = policy };
    }
}
