using System.CommandLine;

namespace Filter.Cli;

/// <summary>
/// <c>filterc</c>: a thin shell over the libraries. Exit status: 0 success (whether or not anything
/// matched), 1 bad input data, 2 bad filter, program or usage.
/// </summary>
public static class Program
{
    public static int Main(string[] args) => Run(args, Console.In, Console.OpenStandardInput, Console.OpenStandardOutput(), Console.Error);

    /// <summary>Entry point for tests: the same commands with explicit streams.</summary>
    public static int Run(string[] args, TextReader stdinText, Func<Stream> stdin, Stream stdout, TextWriter stderr)
    {
        var io = new CliIO(stdin, stdout, stderr);
        var root = new RootCommand("filterc: compile, verify and run filters over syscall audit records")
        {
            Commands.Compile(io),
            Commands.Assemble(io),
            Commands.Disassemble(io),
            Commands.Verify(io),
            RunCommand.Create(io),
            TailCommand.Create(io),
            TraceCommand.Create(io),
            IdsCommand.Create(io),
            ImportCommand.Create(io),
            ExplainCommand.Create(io),
            AnalyzeCommand.Create(io),
        };
        var config = new InvocationConfiguration { Output = new StreamWriter(stdout) { AutoFlush = true }, Error = stderr };
        int rc = root.Parse(args).Invoke(config);
        stdout.Flush();
        return rc;
    }
}

/// <summary>The process's streams, injectable for tests.</summary>
public sealed record CliIO(Func<Stream> Stdin, Stream Stdout, TextWriter Stderr)
{
    public const int Ok = 0, InputError = 1, UsageError = 2;

    public int Fail(int code, string message)
    {
        Stderr.WriteLine(message);
        return code;
    }

    public void WriteText(string text)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        Stdout.Write(bytes);
        Stdout.Flush();
    }
}
