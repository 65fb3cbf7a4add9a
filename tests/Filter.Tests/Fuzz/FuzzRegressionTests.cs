using System.Text;
using Xunit;

namespace Filter.Tests.Fuzz;

/// <summary>
/// Inputs the coverage-guided fuzzer (tests/fuzz) found, minimised, replayed through the same checks
/// the fuzz targets run (<see cref="FuzzChecks"/>), so each bug stays fixed. Also runs the seed corpora,
/// so the harness and its seeds cannot rot while nobody is fuzzing. To add a finding: run
/// <c>dotnet tests/fuzz/build/TARGET/Filter.Fuzz.dll TARGET --repro FILE</c>, which prints the input as
/// a C# literal, minimise it (afl-tmin, or by hand), and add a row below with the date and the symptom.
/// </summary>
public class FuzzRegressionTests
{
    public static TheoryData<string, byte[]> VerifierFindings => new()
    {
        // 2026-11-27, verifier target, first campaign (65 AFL crashes in 15 minutes, the first within a
        // second, all one cause; fixed in 68cf394).
        // Disassembler.Instruction padded a conditional jump's operands to 34 columns and its jt target
        // to 5 with no separator after either, so a long operand or a 5-digit target ran into "jt"/"jf":
        // "jsgt    r10, #-9223372036854775808jt 2    jf 3" did not assemble. spec/bytecode.md promises
        // that every decodable file round-trips through disasm and asm.
        // This one is a verified program (lddw r10, [exit]; jsgt r10, #-9223372036854775808 jt 2 jf 3;
        // ret #1; ret #0): `filterc disasm` printed text that `filterc asm` rejected.
        {
            "disasm: 34-character operand runs into jt",
            [0x41, 0x46, 0x4c, 0x54, 0x01, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
             0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
             0x12, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
             0x47, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80,
             0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
             0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
             0x00, 0x00, 0x00, 0x00]
        },
        // The same bug through the target column: decodable (not verifiable) "jeq r0, #0 jt 10000 jf 1;
        // ret #0" printed as "jt 10000jf 1".
        {
            "disasm: 5-digit jump target runs into jf",
            [0x41, 0x46, 0x4c, 0x54, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
             0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
             0x41, 0x00, 0x00, 0x00, 0x0f, 0x27, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
             0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]
        },
    };

    public static TheoryData<string, byte[]> ParserFindings => new()
    {
        // 2026-11-27, parser target, first campaign (7 AFL crashes, 1,477 to 26,974 bytes, one cause;
        // fixed in f44a6d2). A string literal longer than 4096 bytes compiled, and the verifier then
        // rejected the program (FLT2015: "string 0 is 4097 bytes; at most 4096 are allowed"); filterc
        // reported "internal error: the compiled program was rejected by the verifier". Every compiled
        // program must verify (spec/verifier.md).
        { "string literal of 4097 bytes: exe == \"xxx...\"", Encoding.UTF8.GetBytes("exe == \"" + new string('x', 4097) + "\"") },
        { "string literal of 4097 bytes: comm startswith \"xxx...\"", Encoding.UTF8.GetBytes("comm startswith \"" + new string('x', 4097) + "\"") },
        // 2026-11-27, parser target, first campaign: 1 AFL hang (817 bytes, mostly comments; 1.7 s to
        // compile; fixed in f44a6d2), minimised by hand to a0 == a1 ^ a2 << exit << exit ... Code
        // generation took time exponential in the depth of a left-leaning chain of non-constant shifts
        // under a commutative operator: CodeGenerator.Need (the Sethi-Ullman number) evaluated each child
        // twice per level, and Value calls Need at every level. 22 shifts took 0.15 s, 26 about 2 s; 40
        // (far inside the 256 nesting limit) would take hours. Compilation must be linear (issue 5).
        { "exponential code generation: a0 == a1 ^ a2 << exit (x40)", Encoding.UTF8.GetBytes("a0 == a1 ^ a2" + string.Concat(Enumerable.Repeat(" << exit", 40))) },
    };

    [Theory]
    [MemberData(nameof(VerifierFindings))]
    public async Task VerifierTargetHolds(string finding, byte[] input)
    {
        _ = finding;
        await Within(Deadline, () => FuzzChecks.Verifier(input));
    }

    [Theory]
    [MemberData(nameof(ParserFindings))]
    public async Task ParserTargetHolds(string finding, byte[] input)
    {
        _ = finding;
        await Within(Deadline, () => FuzzChecks.Parser(input));
    }

    /// <summary>Far above what any input here needs when correct (milliseconds), whatever the load: only a hang reaches it.</summary>
    private static readonly TimeSpan Deadline = Filter.Tests.Engines.HangGuard.Bound;

    /// <summary>Runs <paramref name="check"/>; fails if it throws or takes longer than <paramref name="limit"/>.</summary>
    private static async Task Within(TimeSpan limit, Action check)
    {
        var task = Task.Run(check);
        if (await Task.WhenAny(task, Task.Delay(limit)) != task)
            Assert.Fail($"still running after {limit.TotalSeconds} s: a hang");
        await task;
    }

    public static TheoryData<string, string> SeedFiles()
    {
        var data = new TheoryData<string, string>();
        var root = RepoRoot();
        foreach (var target in new[] { "verifier", "parser" })
            foreach (var file in Directory.GetFiles(Path.Combine(root, "tests", "fuzz", "corpus", target)).Order(StringComparer.Ordinal))
                data.Add(target, Path.GetRelativePath(root, file));
        return data;
    }

    /// <summary>Every seed passes its target's checks (a failing seed stops afl-fuzz before it starts).</summary>
    [Theory]
    [MemberData(nameof(SeedFiles))]
    public void SeedCorporaPass(string target, string file)
    {
        var input = File.ReadAllBytes(Path.Combine(RepoRoot(), file));
        if (target == "verifier")
        {
            Assert.True(Filter.Verifier.Verifier.Verify(input).Ok, $"{file} should be a verified program");
            FuzzChecks.Verifier(input);
        }
        else FuzzChecks.Parser(input);
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Filter.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Filter.sln above {AppContext.BaseDirectory}");
    }
}
