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
