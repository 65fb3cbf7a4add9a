using Filter.Compiler;
using Filter.Compiler.Analysis;
using Filter.Compiler.Tables;
using Filter.Compiler.Tools;
using Filter.Tests.Engines;
using Filter.Tests.Properties;
using Filter.VM;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Filter.Tests.Tools;

/// <summary>
/// <c>filterc analyze</c>'s claims checked against runs: the syscall sets it reports are sound (no record
/// outside them gets a verdict from the rule or policy) and, where it says exact, exact (every reported
/// named syscall has a record the engine matches); the worst case is never exceeded, and attained when claimed.
/// </summary>
public class AnalyzeTests
{
    private static int Iterations(int normal) =>
        int.TryParse(Environment.GetEnvironmentVariable("FILTER_PROPERTY_ITERATIONS"), out int n) ? n : normal;

    /// <summary>Every syscall number of the tables and a few past the largest, plus far-away ones.</summary>
    private static readonly uint[] Numbers =
        [.. Enumerable.Range(0, AuditArch.All.Max(a => Syscalls.ForArch(a.Value)[^1].Number) + 4).Select(n => (uint)n), 1000, 65536, uint.MaxValue];

    private static readonly uint[] Arches = [.. AuditArch.All.Select(a => a.Value), 0];

    private static (Compilation, VerifiedProgram, PolicyReport) Analyze(string text)
    {
        var c = TestPrograms.Compile(text);
        var program = TestPrograms.Verify(c.Image!);
        return (c, program, PolicyAnalyzer.Analyze(c, program));
    }

    private static ArchSyscalls For(IReadOnlyList<ArchSyscalls> sets, uint arch) =>
        sets.Single(s => s.ArchValue == arch || (s.ArchValue is null && AuditArch.NameOf(arch) is null));

    private static byte[] With(byte[] record, uint arch, uint syscall)
    {
        var b = new RecordBuilder();
        b.CopyFrom(new Record(record));
        b.SetU32(RecordLayout.Arch, arch);
        b.SetU32(RecordLayout.Syscall, syscall);
        return b.ToArray();
    }

    /// <summary>
    /// Soundness by enumeration: for every arch and syscall number, records with random other fields; a record
    /// the program gives a verdict is in the policy's set, and a record rule i decides is in rule i's set.
    /// Exactness with witnesses: for each arch the report calls exact, every named syscall in the set has a
    /// record (the analysis's witness, checked here by the interpreter, not the reference evaluator).
    /// </summary>
    private static void CheckSets(string text, byte[][] others)
    {
        var (c, program, report) = Analyze(text);
        var policy = c.Policy!;
        foreach (uint arch in Arches)
        {
            var policySet = For(report.Policy, arch);
            var ruleSets = report.Rules.Select(r => For(r.Decides, arch)).ToList();
            foreach (uint n in Numbers)
                foreach (var other in others)
                {
                    var record = With(other, arch, n);
                    uint verdict = Interpreter.Run(program, new Record(record));
                    if (verdict != 0) Assert.True(policySet.Set.Contains(n), $"'{text}': arch {arch:x} syscall {n} matches but is not in the policy's set {policySet.Set}");
                    int rule = ReferenceEvaluator.DecidingRule(policy, new Record(record));
                    if (rule >= 0) Assert.True(ruleSets[rule].Set.Contains(n), $"'{text}': rule {rule + 1} decides arch {arch:x} syscall {n} outside its set {ruleSets[rule].Set}");
                }
            if (policySet.Exact && policySet.ArchValue is { } a)
                foreach (var (name, number) in Syscalls.ForArch(a).Where(s => policySet.Set.Contains((ulong)s.Number)))
                {
                    var witness = SyscallAnalysis.FindWitness(policy.MatchCondition, a, (uint)number);
                    Assert.True(witness is not null, $"'{text}': {name} reported exactly, but no witness");
                    Assert.NotEqual(0u, Interpreter.Run(program, new Record(witness)));
                }
        }
    }

    [Theory]
    [InlineData("syscall in (execve, fork) && uid != 0")]
    [InlineData("never: syscall in (gettimeofday, clock_gettime)\nalways \"exec\": syscall == execve\nalways: exit == -EACCES")]
    [InlineData("list l = (fork, clone, 60..70)\nmacro root = uid == 0 || euid == 0\nnever: syscall == clone && root\nalways \"l\": syscall in l\nalways \"x\": syscall > 400 && syscall <= 410 && exe startswith \"/tmp/\"")]
    [InlineData("always \"a\": arch == i386 && syscall in (3..5)\nnever: syscall == execve\nalways \"b\": syscall != execve && a2 & 0x40 != 0")]
    [InlineData("syscall == execve && auid >= 1000 && auid < 1000")]
    public void SetsAreSoundAndExact(string text)
    {
        var rng = new Random(7);
        var others = Enumerable.Range(0, 3).Select(_ => RandomRecord(rng)).ToArray();
        CheckSets(text, others);
    }

    [Fact]
    public void SetsAreSoundAndExactOnRandomPolicies()
    {
        var cases = Gen.Zip(PolicyGen.Policy, FilterGen.Record.ArrayOf(2)).ToArbitrary();
        Check.One(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(Iterations(12)), Prop.ForAll(cases, c => CheckSets(c.Item1, c.Item2)));
    }

    /// <summary>Policies of rules over per-field conditions (no arithmetic: the witness search follows fields only).</summary>
    private static Gen<string> SimplePolicy =>
        from count in Gen.Choose(1, 5)
        from rules in PolicyGen.Simple(2).ArrayOf(count)
        from kinds in Gen.Elements("always \"a\": ", "always: ", "never: ").ArrayOf(count)
        select string.Join("\n", rules.Select((r, i) => kinds[i] + r));

    [Fact]
    public void WorstCaseIsNeverExceededAndAttainedWhenClaimed() => CheckWorstCase(PolicyGen.Policy, 60, minAttainedPercent: 0);

    [Fact]
    public void WorstCaseIsUsuallyAttainedOnPerFieldConditions() => CheckWorstCase(SimplePolicy, 60, minAttainedPercent: 40);

    private static void CheckWorstCase(Gen<string> policies, int iterations, int minAttainedPercent)
    {
        var cases = Gen.Zip(policies, FilterGen.Record.ArrayOf(40)).ToArbitrary();
        int attained = 0, total = 0;
        Check.One(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(Iterations(iterations)), Prop.ForAll(cases, c =>
        {
            var (text, records) = c;
            var program = TestPrograms.CompileAndVerify(text);
            var worst = WorstCaseAnalysis.Analyze(program.Image);
            Assert.Equal(program.MaxPathLength, worst.Instructions);
            foreach (var record in records)
            {
                var (verdict, executed) = CountingInterpreter.Run(program, record);
                Assert.True(executed <= worst.Instructions, $"'{text}': {executed} instructions executed, worst case {worst.Instructions}");
                Assert.True(executed <= worst.PerVerdict[(int)verdict], $"'{text}': {executed} instructions to verdict {verdict}, reported at most {worst.PerVerdict[(int)verdict]}");
            }
            total++;
            if (worst.Witness is not null) attained++;
            if (worst.LongestRecord is { } longest)
            {
                // The record found takes a path of the length claimed; when the search says that length is the
                // true maximum, no random record goes further (checked above against the bound, here against it).
                Assert.Equal(worst.Longest, CountingInterpreter.Run(program, longest).Executed);
                if (worst.LongestIsExact)
                    foreach (var record in records)
                        Assert.True(CountingInterpreter.Run(program, record).Executed <= worst.Longest, $"'{text}': a record executes more than the exact worst case {worst.Longest}");
            }
        }));
        // The search is not a formality: on conditions it can follow, it finds the longest path's record.
        Assert.True(attained * 100 >= total * minAttainedPercent, $"worst case attained for only {attained} of {total} policies");
        Console.WriteLine($"worst case attained for {attained} of {total} policies");
    }

    [Theory]
    [InlineData("syscall == execve && uid != 0")]
    [InlineData("exe startswith \"/tmp/\" && comm != \"sh\" && exit < 0 && a2 & 0x40 != 0 && success")]
    [InlineData("never: syscall == kill\nalways \"a\": syscall in (execve, fork) && uid in (0, 1000..1999)\nalways \"b\": auid != 4294967295 && exit == -EPERM")]
    public void WorstCaseIsAttainedOnSimplePolicies(string text)
    {
        var program = TestPrograms.CompileAndVerify(text);
        var worst = WorstCaseAnalysis.Analyze(program.Image);
        Assert.NotNull(worst.Witness);
        Assert.Equal(program.MaxPathLength, CountingInterpreter.Run(program, worst.Witness).Executed);
    }

    [Fact]
    public void ReportsRulesThatNeverMatchOrNeverDecide()
    {
        var (_, _, report) = Analyze(
            "macro root = uid == 0\n" +
            "always \"exec\": syscall == execve && root\n" +
            "always \"dead\": syscall == execve && uid == 0 && comm == \"sh\"\n" +
            "always \"never\": syscall == kill && auid >= 1000 && auid < 1000\n" +
            "always \"maybe\": syscall == openat && uid == euid && uid != euid\n" +
            "always \"ok\": syscall == openat\n");
        Assert.Equal([RuleStatus.Decides, RuleStatus.Shadowed, RuleStatus.NeverMatches, RuleStatus.MayNeverDecide, RuleStatus.Decides],
            report.Rules.Select(r => r.Status));
        Assert.Equal([0], report.Rules[1].OverlappingEarlier);
        // (The never-matching rule's contradiction is part of one flat && chain: no separate always-false operand.)
        Assert.Equal(["FLT0502", "FLT0501", "FLT0505"], report.Warnings.Select(w => w.CodeText));
        Assert.All(report.Warnings, w => Assert.Equal(Severity.Warning, w.Severity));
        Assert.Equal("59", For(report.Rules[0].Decides, AuditArch.X86_64).Set.ToString());
        Assert.Equal(["execve"], For(report.Rules[0].Decides, AuditArch.X86_64).Names);
        Assert.Null(report.Rules[1].WorstCase);
    }

    [Fact]
    public void ReportsAlwaysTrueAndAlwaysFalseConditionsOutermostFirst()
    {
        var text = "always \"a\": syscall == execve && (auid == 0 && auid >= 1000 || uid == 1)\nalways \"b\": syscall == kill && uid >= 0\nalways \"c\": uid >= 0\nalways \"d\": true";
        var (_, _, report) = Analyze(text);
        var found = report.Warnings.Select(w => (w.CodeText, text[w.Span.Start..w.Span.End])).ToList();
        Assert.Equal([
            ("FLT0504", "auid == 0 && auid >= 1000"),
            ("FLT0503", "uid >= 0"),
            ("FLT0503", "uid >= 0"),
            // `always "d": true` is a deliberate catch-all, but after an always-true rule it never decides.
            ("FLT0502", "always \"d\": true"),
        ], found);
    }

    [Fact]
    public void OverApproximatedSetsAreFlaggedNotExact()
    {
        // uid == euid is beyond the analysis: openat stays in the set, unproven.
        var (_, _, report) = Analyze("always: syscall == openat && uid == euid && uid != euid || syscall == execve");
        var x86 = For(report.Policy, AuditArch.X86_64);
        Assert.Equal("59, 257", x86.Set.ToString());
        Assert.False(x86.Exact);
        Assert.Equal("257", x86.Unproven.ToString());
        Assert.True(For(report.Policy, AuditArch.I386).Exact is false);
    }

    [Fact]
    public void JsonReportFollowsTheDocumentedSchema()
    {
        var text = "never: syscall == kill\nalways \"exec\": syscall == execve && uid != 0\nalways \"dead\": syscall == execve && uid == 5";
        var (_, program, report) = Analyze(text);
        using var doc = System.Text.Json.JsonDocument.Parse(AnalysisOutput.Json(report, text, "p.flt"));
        var root = doc.RootElement;
        Assert.Equal(1, root.GetProperty("version").GetInt32());
        Assert.Equal("p.flt", root.GetProperty("file").GetString());
        Assert.Equal(program.MaxPathLength, root.GetProperty("worstCase").GetProperty("instructions").GetInt32());
        Assert.True(root.GetProperty("worstCase").GetProperty("attained").GetBoolean());
        var x86 = root.GetProperty("syscalls").EnumerateArray().First(a => a.GetProperty("arch").GetString() == "x86_64");
        Assert.Equal("0xc000003e", x86.GetProperty("archValue").GetString());
        Assert.Equal([[59, 59]], x86.GetProperty("ranges").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt64()).ToArray()).ToArray());
        Assert.Equal(["execve"], x86.GetProperty("names").EnumerateArray().Select(n => n.GetString()));
        Assert.True(x86.GetProperty("exact").GetBoolean());
        var rules = root.GetProperty("rules").EnumerateArray().ToList();
        Assert.Equal(["decides", "decides", "shadowed"], rules.Select(r => r.GetProperty("status").GetString()));
        Assert.Equal("never", rules[0].GetProperty("kind").GetString());
        Assert.False(rules[0].TryGetProperty("key", out _));
        Assert.Equal("exec", rules[1].GetProperty("key").GetString());
        Assert.Equal(2, rules[1].GetProperty("line").GetInt32());
        Assert.Equal([2], rules[2].GetProperty("overlapsEarlier").EnumerateArray().Select(e => e.GetInt32()));
        var warning = root.GetProperty("warnings").EnumerateArray().Single();
        Assert.Equal(("FLT0502", "warning", 3, 1), (warning.GetProperty("code").GetString(), warning.GetProperty("severity").GetString(),
            warning.GetProperty("line").GetInt32(), warning.GetProperty("column").GetInt32()));
    }

    private static readonly ulong[] Values = [0, 1, 5, 59, 1000, 1500, 4294967295, unchecked((ulong)-1L), unchecked((ulong)-13L), 0x40, 0x41];

    private static byte[] RandomRecord(Random rng)
    {
        var b = new RecordBuilder();
        foreach (var f in RecordLayout.Scalars)
            b.SetScalar(f, f.Kind switch
            {
                FieldKind.U8 => Values[rng.Next(Values.Length)] & 0xff,
                FieldKind.U32 => Values[rng.Next(Values.Length)] & 0xffffffff,
                _ => Values[rng.Next(Values.Length)],
            });
        b.SetComm(rng.Next(2) == 0 ? "sh" : "bash");
        b.SetExe(rng.Next(2) == 0 ? "/tmp/x" : "/usr/bin/ls");
        return b.ToArray();
    }
}
