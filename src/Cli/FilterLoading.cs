using System.CommandLine;
using Filter.Compiler;

namespace Filter.Cli;

/// <summary>
/// The command line's side of the front door (<see cref="FilterProgram"/>): which source the options name,
/// and every diagnostic printed through the one renderer, as <c>--diagnostics</c> asks.
/// </summary>
internal static class FilterLoading
{
    /// <summary>
    /// The source the options name: an expression, a filter or policy file, or (where the command takes one)
    /// a bytecode file. Null, with a usage error printed, unless exactly one is given.
    /// </summary>
    public static FilterSource? Source(string? expression, FileInfo? file, CliIO io, FileInfo? program = null, bool programAllowed = false)
    {
        int given = (expression is null ? 0 : 1) + (file is null ? 0 : 1) + (program is null ? 0 : 1);
        if (given != 1)
        {
            io.Usage(programAllowed
                ? "give exactly one of --filter EXPR, -f FILE or --program PROG.bin"
                : given == 0 ? "no filter: give an expression or -f FILE" : "give a filter expression or -f FILE, not both");
            return null;
        }
        return expression is not null ? FilterSource.FromText(expression)
            : file is not null ? FilterSource.FromFile(file.ToString())
            : FilterSource.FromBytecodeFile(program!.ToString());
    }

    /// <summary>
    /// Loads the source and prints its diagnostics (text, or one JSON/SARIF document also when there are none).
    /// With <paramref name="deferDocument"/>, a successful load prints nothing in JSON/SARIF form: the caller
    /// adds diagnostics of its own and prints the one document (<see cref="CliDiagnostics.Write"/>).
    /// </summary>
    public static LoadResult Load(FilterSource source, CliIO io, DiagnosticsFormat format, bool deferDocument = false)
    {
        var result = FilterProgram.Load(source);
        if (format == DiagnosticsFormat.Text || !deferDocument || !result.Success)
            CliDiagnostics.Write(io, format, result.Diagnostics);
        return result;
    }
}

/// <summary>The options that name a command's filter: <c>--filter EXPR</c>, <c>-f FILE</c> (a policy too), <c>--program PROG.bin</c>.</summary>
internal sealed record FilterOptions(Option<string?> Expression, Option<FileInfo?> File, Option<FileInfo?> Program)
{
    public static FilterOptions Create() => new(
        new Option<string?>("--filter") { Description = "the filter expression" },
        new Option<FileInfo?>("--file", "-f") { Description = "read the filter or policy from FILE" },
        new Option<FileInfo?>("--program") { Description = "a bytecode file (verified before it runs)" });

    /// <summary>
    /// The source given, or null with a usage error printed; when none is given and <paramref name="otherwise"/>
    /// is, that expression.
    /// </summary>
    public FilterSource? Source(ParseResult r, CliIO io, string? otherwise = null)
    {
        string? expression = r.GetValue(Expression);
        FileInfo? file = r.GetValue(File), program = r.GetValue(Program);
        if (expression is null && file is null && program is null && otherwise is not null) return FilterSource.FromText(otherwise);
        return FilterLoading.Source(expression, file, io, program, programAllowed: true);
    }
}
