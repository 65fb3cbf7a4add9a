using System.CommandLine;
using Filter.Audit.Streaming;

namespace Filter.Cli;

/// <summary>
/// <c>filterc</c>: a thin shell over the libraries. Exit status: 0 success (whether or not anything
/// matched), 1 bad input data, 2 bad filter, program or usage.
/// </summary>
public static class Program
{
    public static int Main(string[] args) =>
        Run(args, () => (Stream?)LiveInput.StandardInput() ?? Console.OpenStandardInput(), Console.OpenStandardOutput(), Console.Error,
            stdoutIsTerminal: !Console.IsOutputRedirected);

    /// <summary>
    /// Entry point for tests: the same commands with explicit streams. Standard input that is a
    /// <see cref="LiveInput"/> (a pipe, a terminal) is read as it comes; <paramref name="stdoutIsTerminal"/>
    /// says whether standard output is a terminal; <paramref name="clock"/> is the clock of run --start/--end.
    /// </summary>
    public static int Run(string[] args, Func<Stream> stdin, Stream stdout, TextWriter stderr,
        bool stdoutIsTerminal = false, TimeProvider? clock = null)
    {
        var io = new CliIO(stdin, stdout, stderr) { StdoutIsTerminal = stdoutIsTerminal, Clock = clock ?? TimeProvider.System };
        var root = new RootCommand("filterc: compile, verify and run filters over syscall audit records")
        {
            Commands.Compile(io),
            Commands.Assemble(io),
            Commands.Disassemble(io),
            Commands.Verify(io),
            RunCommand.Create(io),
            ReportCommand.Create(io),
            PluginCommand.Create(io),
            TailCommand.Create(io),
            TraceCommand.Create(io),
            IdsCommand.Create(io),
            ImportCommand.Create(io),
            ExplainCommand.Create(io),
            AnalyzeCommand.Create(io),
        };
        var parse = root.Parse(args);
        if (CommandLineErrors.Of(parse) is { Count: > 0 } errors)
        {
            foreach (var error in errors) io.Usage(error);
            return CliIO.UsageError;
        }
        var config = new InvocationConfiguration { Output = new StreamWriter(stdout) { AutoFlush = true }, Error = stderr };
        int rc = parse.Invoke(config);
        stdout.Flush();
        return rc;
    }
}

/// <summary>The process's streams, injectable for tests.</summary>
public sealed record CliIO(Func<Stream> Stdin, Stream Stdout, TextWriter Stderr)
{
    public const int Ok = 0, InputError = 1, UsageError = 2;

    /// <summary>Whether standard output is a terminal (shown to a person: run prints ENRICHED logs readably).</summary>
    public bool StdoutIsTerminal { get; init; }

    /// <summary>The clock and time zone of <c>run --start/--end</c>'s relative times (injected by tests).</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>Prints <paramref name="error"/> (its text form) and returns <paramref name="code"/>.</summary>
    public int Fail(int code, Diagnostic error)
    {
        Stderr.Write(DiagnosticRenderer.Render(DiagnosticsFormat.Text, [error]));
        return code;
    }

    /// <summary>A command line the command cannot run with (FLT6001), printed; the exit status for it.</summary>
    public int Usage(string message) => Fail(UsageError, Problem(DiagnosticCode.BadCommandLine, message));

    /// <summary>A diagnostic about no file: the command's own (<c>filterc: error FLTnnnn: ...</c>).</summary>
    public static Diagnostic Problem(DiagnosticCode code, string message) =>
        new Diagnostic(code, default(DiagnosticLocation), message).In("filterc");

    public static Diagnostic CannotWrite(string file, Exception e) =>
        new Diagnostic(DiagnosticCode.CannotWrite, default(DiagnosticLocation), $"cannot write: {e.Message}").In(file);

    public void WriteText(string text)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        Stdout.Write(bytes);
        Stdout.Flush();
    }
}
