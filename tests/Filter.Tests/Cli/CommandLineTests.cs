using System.Text;
using Xunit;

namespace Filter.Tests.Cli;

/// <summary>
/// The README's exit statuses, each checked: 0 success (matches or not), 1 bad input records or an input
/// that cannot be read, 2 a bad filter, program or command line. Every command line problem is found by
/// System.CommandLine's parser and printed as one FLT6001 line naming what is wrong.
/// </summary>
public sealed class CommandLineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("filterc-cmdline").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static (int Code, string Out, string Err) Run(string stdin, params string[] args)
    {
        var stdout = new MemoryStream();
        var stderr = new StringWriter();
        int code = Filter.Cli.Program.Run(args, () => new MemoryStream(Encoding.UTF8.GetBytes(stdin)), stdout, stderr);
        return (code, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString());
    }

    private const string Record = "{\"arch\":\"x86_64\",\"syscall\":59,\"uid\":1000}\n";

    [Theory]
    [InlineData(0, "run", "--filter", "uid == 1000")]            // a match
    [InlineData(0, "run", "--filter", "uid == 7")]               // no match is success too
    [InlineData(1, "run", "--filter", "true", "--format", "jsonl", "-")] // the stdin below has a bad record
    [InlineData(1, "run", "--filter", "true", "/nonexistent/audit.log")] // an input that cannot be read
    [InlineData(1, "plugin", "--filter", "true", "--to", "/nonexistent/dir/matches.log")] // an output that cannot be written
    [InlineData(0, "report", "--filter", "uid == 1000")]
    [InlineData(2, "report", "--by", "colour")]
    [InlineData(2, "run", "--filter", "uid == = 0")]             // bad filter
    [InlineData(2, "run", "--program", "/nonexistent/p.bin")]    // bad program (cannot be read)
    [InlineData(2, "run", "--filter", "true", "--since", "today")] // unknown option
    public void EachExitStatusMeansWhatTheReadmeSays(int expected, params string[] args)
    {
        string stdin = expected == 1 ? Record + "{\"uid\": \"x\"}\n" : Record;
        Assert.Equal(expected, Run(stdin, args).Code);
    }

    [Fact]
    public void TheReadmeStatesTheseStatuses()
    {
        string readme = File.ReadAllText(Filter.Tests.Engines.TestData.Path("README.md"));
        Assert.Contains("Exit status: 0 on success (matches or not),\n1 for bad input records or an input or output that cannot be read or written, 2 for a bad filter, program\nor command line.", readme);
    }

    [Theory]
    [InlineData(new[] { "run", "--filter", "true", "--since", "today" }, "unknown option '--since' for 'run'")]
    [InlineData(new[] { "run", "--format", "json", "--filter", "true" }, "--format: Argument 'json' not recognized. Must be one of: 'auto', 'jsonl', 'auditd'")]
    [InlineData(new[] { "run", "--engine", "fast", "--filter", "true" }, "--engine: Argument 'fast' not recognized")]
    [InlineData(new[] { "frobnicate" }, "unknown command 'frobnicate' (the commands: compile,")]
    [InlineData(new[] { "--bogus" }, "unknown option '--bogus'")]
    [InlineData(new string[0], "no command given")]
    [InlineData(new[] { "tail", "--start", "x" }, "unknown option '--start' for 'tail'")]
    [InlineData(new[] { "compile", "--bogus", "uid == 0" }, "unknown option '--bogus' for 'compile'")]
    [InlineData(new[] { "ids", "-z" }, "unknown option '-z' for 'ids'")]
    public void ABadCommandLineIsOneErrorNamingItAndStatus2(string[] args, string message)
    {
        var (code, output, err) = Run(Record, args);
        Assert.Equal((2, ""), (code, output));
        Assert.Contains($"filterc: error FLT6001: {message}", err);
        Assert.DoesNotContain("Usage:", err);
        Assert.All(err.TrimEnd('\n').Split('\n'), line => Assert.StartsWith("filterc: error FLT6001: ", line));
    }

    [Fact]
    public void AFileNamedLikeAnOptionIsReadAfterDoubleDash()
    {
        string file = Path.Combine(_dir, "--start");
        File.WriteAllText(file, Record);
        var (code, output, err) = Run("", "run", "--count", "--filter", "true", "--", file);
        Assert.Equal((0, "1\n", ""), (code, output, err));
    }

    [Fact]
    public void ADirectoryOrMissingInputIsOneLineNamingIt()
    {
        var dir = Run("", "run", "--filter", "true", _dir);
        Assert.Equal(1, dir.Code);
        Assert.Equal($"{_dir}: error FLT3001: cannot read: is a directory\n", dir.Err);
        string missing = Path.Combine(_dir, "none.log");
        var gone = Run("", "run", "--format", "auditd", "--filter", "true", missing);
        Assert.Equal(1, gone.Code);
        Assert.Equal($"{missing}: error FLT3001: cannot read: no such file\n", gone.Err);
    }

    [Fact]
    public void HelpAndVersionSucceed()
    {
        var help = Run("", "run", "--help");
        Assert.Equal(0, help.Code);
        Assert.Contains("--filter", help.Out);
        var version = Run("", "--version");
        Assert.Equal(0, version.Code);
        Assert.Matches(@"^\d+\.\d+\.\d+", version.Out);
    }
}
