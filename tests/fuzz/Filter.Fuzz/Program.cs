using Filter.Tests.Fuzz;
using SharpFuzz;

namespace Filter.Fuzz;

/// <summary>
/// Fuzz targets for SharpFuzz (tests/fuzz/README.md). The properties are in <see cref="FuzzChecks"/>;
/// this file only chooses a target and a driver:
/// <list type="bullet">
/// <item><c>Filter.Fuzz TARGET</c>: AFL's fork server through <c>Fuzzer.OutOfProcess.Run</c>, which runs
///   the target in a child process and restarts it when it dies (a stack overflow cannot be caught in
///   .NET, and must be reported as a crash, not end the campaign). Not under AFL: one run on stdin.</item>
/// <item><c>Filter.Fuzz TARGET --in-process</c>: <c>Fuzzer.Run</c>, faster, but a stack overflow ends it.</item>
/// <item><c>Filter.Fuzz TARGET --libfuzzer</c>: <c>Fuzzer.LibFuzzer.Run</c>, for libfuzzer-dotnet.</item>
/// <item><c>Filter.Fuzz TARGET --repro PATH...</c>: runs each file (or each file of a folder) once, in
///   process, and prints the exception and the input as a C# literal for a regression test.</item>
/// </list>
/// TARGET is <c>verifier</c> (bytes are a program file) or <c>parser</c> (bytes are UTF-8 filter text).
/// </summary>
public static partial class Program
{
    private const string Usage = "usage: Filter.Fuzz verifier|parser [--in-process | --libfuzzer | --repro PATH... | --summary PATH...]";

    public static int Main(string[] args)
    {
        if (args.Length == 0 || Target(args[0]) is not { } check)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }
        string mode = args.Length > 1 ? args[1] : "";
        switch (mode)
        {
            case "":
                Fuzzer.OutOfProcess.Run(stream => check(ReadAll(stream)));
                return 0;
            case "--in-process":
                Fuzzer.Run(stream => check(ReadAll(stream)));
                return 0;
            case "--libfuzzer":
                Fuzzer.LibFuzzer.Run(span => check(span));
                return 0;
            case "--repro":
                return Repro(check, args[2..]);
            case "--summary":
                Summary(args[0], args[2..]);
                return 0;
            default:
                Console.Error.WriteLine(Usage);
                return 2;
        }
    }

    private delegate void Check(ReadOnlySpan<byte> input);

    private static Check? Target(string name) => name switch
    {
        "verifier" => FuzzChecks.Verifier,
        "parser" => FuzzChecks.Parser,
        _ => null,
    };

    private static byte[] ReadAll(Stream stream)
    {
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }

    private static unsafe int Repro(Check check, string[] paths)
    {
        // Instrumented assemblies write every edge to this map; outside afl-fuzz nobody provides one.
        SharpFuzz.Common.Trace.SharedMem = (byte*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(1 << 16);
        var files = Files(paths);
        var groups = new Dictionary<string, List<(string File, byte[] Input, Exception Error)>>();
        foreach (var file in files)
        {
            var bytes = File.ReadAllBytes(file);
            try
            {
                check(bytes);
                Console.WriteLine($"ok    {file} ({bytes.Length} bytes)");
            }
            catch (Exception e)
            {
                Console.WriteLine($"FAIL  {file} ({bytes.Length} bytes): {e.GetType().Name}: {FirstLine(e.Message)}");
                // Same exception type, throwing method and message (numbers blanked, cut at a parenthesis).
                string message = Digits().Replace(FirstLine(e.Message), "N");
                if (message.IndexOf('(') is > 0 and var paren) message = message[..paren].TrimEnd();
                string frame = e.StackTrace?.Split('\n', 2)[0].Trim() ?? "";
                if (frame.IndexOf(" in ", StringComparison.Ordinal) is > 0 and var at) frame = frame[..at];
                string key = $"{e.GetType().FullName}: {message} {frame}";
                if (!groups.TryGetValue(key, out var list)) groups[key] = list = [];
                list.Add((file, bytes, e));
            }
        }
        // One report per distinct failure (exception type and message with numbers blanked), shown on
        // its smallest input.
        foreach (var (key, list) in groups)
        {
            var (file, input, error) = list.MinBy(x => x.Input.Length);
            Console.WriteLine();
            Console.WriteLine($"== {list.Count} input(s): {key}");
            Console.WriteLine($"smallest: {file} ({input.Length} bytes)");
            Console.WriteLine($"input: {CSharpLiteral(input)}");
            Console.WriteLine(error.ToString());
        }
        int failed = groups.Values.Sum(l => l.Count);
        Console.WriteLine($"{files.Count - failed} passed, {failed} failed ({groups.Count} distinct)");
        return failed == 0 ? 0 : 1;
    }

    private static void Summary(string target, string[] paths)
    {
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        int total = 0;
        foreach (var file in Files(paths))
        {
            var bytes = File.ReadAllBytes(file);
            string outcome;
            if (target == "verifier")
            {
                var result = Filter.Verifier.Verifier.Verify(bytes);
                outcome = result.Ok ? $"accepted, {Size(result.Program!.InstructionCount)} instructions" : $"rejected {result.Error!.CodeText} {result.Error.RuleName}";
            }
            else
            {
                var c = Filter.Compiler.FilterCompiler.Compile(System.Text.Encoding.UTF8.GetString(bytes));
                outcome = c.Success ? $"compiled, {Size(c.Image!.Code.Count)} instructions" : $"error {c.Diagnostics[0].CodeText}";
            }
            counts[outcome] = counts.GetValueOrDefault(outcome) + 1;
            total++;
        }
        Console.WriteLine($"{total} inputs");
        foreach (var (outcome, n) in counts) Console.WriteLine($"{n,7}  {outcome}");
    }

    private static string Size(int n) => n switch { < 8 => "1-7", < 32 => "8-31", < 128 => "32-127", _ => "128+" };

    private static List<string> Files(string[] paths) =>
        paths.SelectMany<string, string>(p => Directory.Exists(p)
            ? Directory.GetFiles(p).Where(f => !Path.GetFileName(f).StartsWith("README", StringComparison.Ordinal)).Order(StringComparer.Ordinal)
            : [p]).ToList();

    private static string FirstLine(string text) => text.Split('\n', 2)[0];

    [System.Text.RegularExpressions.GeneratedRegex("[0-9]+")]
    private static partial System.Text.RegularExpressions.Regex Digits();

    /// <summary>The input as a C# collection expression, ready to paste into FuzzRegressionTests.</summary>
    private static string CSharpLiteral(byte[] bytes) =>
        "[" + string.Join(", ", bytes.Select(b => $"0x{b:x2}")) + "]";
}
