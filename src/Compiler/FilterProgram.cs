namespace Filter.Compiler;

/// <summary>Where a program comes from: filter or policy text, a file of it, or bytecode.</summary>
public sealed record FilterSource
{
    private FilterSource(string name, string? text, string? path, ReadOnlyMemory<byte>? bytecode)
    {
        Name = name;
        Text = text;
        Path = path;
        Bytecode = bytecode;
    }

    /// <summary>The name diagnostics give it: <c>filter</c> for an expression, a file's path as given.</summary>
    public string Name { get; }
    public string? Text { get; }
    public string? Path { get; }
    public ReadOnlyMemory<byte>? Bytecode { get; }
    /// <summary>A path that holds bytecode (<c>filterc compile -o</c>) rather than filter text.</summary>
    public bool IsBytecodeFile { get; private init; }

    /// <summary>A filter expression or a policy, e.g. from <c>--filter</c>.</summary>
    public static FilterSource FromText(string text, string name = "filter") => new(name, text, null, null);

    /// <summary>A file of filter or policy text.</summary>
    public static FilterSource FromFile(string path) => new(path, null, path, null);

    /// <summary>Encoded bytecode.</summary>
    public static FilterSource FromBytecode(ReadOnlyMemory<byte> bytes, string name) => new(name, null, null, bytes);

    /// <summary>A file of encoded bytecode.</summary>
    public static FilterSource FromBytecodeFile(string path) => new(path, null, path, null) { IsBytecodeFile = true };
}

/// <summary>
/// What <see cref="FilterProgram.Load"/> made of a source: the runnable program, or why there is none. Every
/// diagnostic names the source (<see cref="Diagnostic.File"/>) and carries its text for the caret line.
/// </summary>
public sealed record LoadResult(FilterSource Source, VerifiedProgram? Program, Compilation? Compilation, IReadOnlyList<Diagnostic> Diagnostics)
{
    public bool Success => Program is not null;

    /// <summary>The source text, when the source was text (for tools that quote it: explain, analyze).</summary>
    public string? Text => Compilation?.Source;

    public IEnumerable<Diagnostic> Errors => Diagnostics.Where(d => d.Severity == Severity.Error);
    public IEnumerable<Diagnostic> Warnings => Diagnostics.Where(d => d.Severity != Severity.Error);

    /// <summary>
    /// The program, for callers whose filter is their own and must compile (a sample, a benchmark): a failure
    /// there is a bug, thrown with the rendered diagnostics.
    /// </summary>
    public VerifiedProgram EnsureProgram() =>
        Program ?? throw new InvalidOperationException(DiagnosticRenderer.Render(DiagnosticsFormat.Text, Diagnostics));
}

/// <summary>
/// The one way from a source to a <see cref="VerifiedProgram"/>: text is parsed, bound and compiled, and
/// whatever the bytes came from, they go through the verifier, which trusts nothing about them (the
/// compiler's output included). As <c>new Regex(pattern)</c> takes a pattern to something that runs; the
/// engine is chosen afterwards, in one place (<c>RecordFilters.Create</c>).
/// </summary>
public static class FilterProgram
{
    public static LoadResult Load(FilterSource source, CompilerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Bytecode is { } bytes) return FromBytes(source, bytes.Span);
        if (source.Path is { } path && source.IsBytecodeFile)
        {
            byte[] file;
            try { file = File.ReadAllBytes(path); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            { return Failed(source, null, Diagnostic.CannotRead(source.Name, e)); }
            return FromBytes(source, file);
        }
        if (source.Text is { } given) return FromText(source, given, options);
        byte[] bytesOfText;
        try { bytesOfText = File.ReadAllBytes(source.Path!); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { return Failed(source, null, Diagnostic.CannotRead(source.Name, e)); }
        // Strict UTF-8: a byte that is not is a positioned error, never read as U+FFFD.
        var (text, notUtf8) = FilterText.FromUtf8(bytesOfText);
        return notUtf8 is null ? FromText(source, text, options)
            : new LoadResult(source, null, new Compilation(text, null, null, [notUtf8]), [notUtf8.In(source.Name, text)]);
    }

    /// <summary>Shorthand for <see cref="Load"/> of <see cref="FilterSource.FromText"/>.</summary>
    public static LoadResult Compile(string text, string name = "filter", CompilerOptions? options = null) =>
        Load(FilterSource.FromText(text, name), options);

    private static LoadResult FromText(FilterSource source, string text, CompilerOptions? options)
    {
        var compilation = FilterCompiler.Compile(text, options);
        var diagnostics = compilation.Warnings.Concat(compilation.Diagnostics).Select(d => d.In(source.Name, text)).ToList();
        if (!compilation.Success) return new LoadResult(source, null, compilation, diagnostics);
        var verified = Verifier.Verifier.Verify(compilation.Image!);
        if (verified.Error is { } rejected)
        {
            // The compiler's output is checked like anyone else's; a rejection here is a compiler bug.
            diagnostics.Add(rejected.In(source.Name) with { Message = $"internal error: the compiled program was rejected by the verifier: {rejected.Message}" });
            return new LoadResult(source, null, compilation, diagnostics);
        }
        return new LoadResult(source, verified.Program, compilation, diagnostics);
    }

    private static LoadResult FromBytes(FilterSource source, ReadOnlySpan<byte> bytes)
    {
        var verified = Verifier.Verifier.Verify(bytes);
        return verified.Error is { } rejected
            ? Failed(source, null, rejected.In(source.Name))
            : new LoadResult(source, verified.Program, null, []);
    }

    private static LoadResult Failed(FilterSource source, Compilation? compilation, Diagnostic error) => new(source, null, compilation, [error]);
}
