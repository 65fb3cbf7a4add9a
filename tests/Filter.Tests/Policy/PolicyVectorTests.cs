using Filter.Compiler;
using Filter.Tests.Engines;
using Filter.VM;
using Xunit;

namespace Filter.Tests.Policy;

/// <summary>
/// spec/conformance/policies: each NAME.flt with its NAME.tsv of records and expected verdicts
/// (format in that directory's README.md), on every engine, with and without the shared dispatch.
/// </summary>
public class PolicyVectorTests
{
    public sealed record Case(string Policy, int Line, uint Verdict, string? Key, int Rule, string Json)
    {
        public override string ToString() => $"{Policy}.tsv:{Line}";
    }

    public static IEnumerable<Case> LoadCases()
    {
        foreach (var tsv in Directory.GetFiles(TestData.Conformance("policies"), "*.tsv").Order(StringComparer.Ordinal))
        {
            var lines = File.ReadAllLines(tsv);
            for (int i = 0; i < lines.Length; i++)
            {
                if (lines[i].Length == 0 || lines[i].StartsWith('#')) continue;
                var p = lines[i].Split('\t');
                Assert.True(p.Length == 4, $"{tsv}:{i + 1}: expected 4 tab-separated columns");
                string? key = p[1] == "-" ? null : p[1].Length >= 2 && p[1][0] == '"' && p[1][^1] == '"' ? p[1][1..^1] : throw new FormatException($"{tsv}:{i + 1}: bad key column");
                yield return new Case(Path.GetFileNameWithoutExtension(tsv), i + 1, uint.Parse(p[0]), key, p[2] == "-" ? 0 : int.Parse(p[2]), p[3]);
            }
        }
    }

    public static IEnumerable<object[]> Cases() =>
        FilterEngines.Cross(LoadCases().SelectMany(c => new[] { new object[] { c, true }, [c, false] }));

    private static Compilation Compile(string policy, bool dispatch)
    {
        string text = File.ReadAllText(TestData.Conformance(Path.Combine("policies", policy + ".flt")));
        var c = FilterCompiler.Compile(text, new CompilerOptions { SyscallDispatch = dispatch });
        Assert.True(c.Success, c.RenderDiagnostics(policy + ".flt"));
        return c;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void EngineGivesTheExpectedVerdict(FilterEngine engine, Case vector, bool dispatch)
    {
        var c = Compile(vector.Policy, dispatch);
        uint verdict = PolicyEngines.Verdicts(engine, c)(PolicyEngines.Record(vector.Json));
        Assert.Equal(vector.Verdict, verdict);
        Assert.Equal(vector.Key, c.KeyOf(verdict));
        Assert.Equal(vector.Key, verdict == 0 ? null : c.Image!.Keys[(int)verdict - 1]);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchingEnginesAgreeWithTheVerdict(FilterEngine engine, Case vector, bool dispatch)
    {
        // The boolean view (Compilation.Bound for the reference) is "verdict != 0".
        var run = engine.Prepare(Compile(vector.Policy, dispatch));
        Assert.Equal(vector.Verdict != 0, run(PolicyEngines.Record(vector.Json)));
    }

    public static TheoryData<Case> ReferenceCases() => new(LoadCases());

    [Theory]
    [MemberData(nameof(ReferenceCases))]
    public void ReferenceNamesTheDecidingRule(Case vector)
    {
        var c = Compile(vector.Policy, dispatch: true);
        int rule = ReferenceEvaluator.DecidingRule(c.Policy!, new Record(PolicyEngines.Record(vector.Json)));
        Assert.Equal(vector.Rule, rule + 1);
    }

    [Fact]
    public void EveryPolicyHasVectorsAndEveryVerdictIsCovered()
    {
        var cases = LoadCases().ToList();
        var policies = Directory.GetFiles(TestData.Conformance("policies"), "*.flt").Select(f => Path.GetFileNameWithoutExtension(f)).Order().ToList();
        Assert.Equal(policies, cases.Select(c => c.Policy).Distinct().Order().ToList());
        Assert.True(cases.Count >= 50, $"only {cases.Count} policy vectors");
        // Every always rule that can decide is exercised by some vector, and so is the drop verdict.
        foreach (var policy in policies)
        {
            var c = Compile(policy, dispatch: true);
            var seen = cases.Where(v => v.Policy == policy).Select(v => v.Verdict).ToHashSet();
            Assert.Contains(0u, seen);
            Assert.True(seen.Count >= Math.Min(c.Keys.Count, 3), $"{policy}: verdicts {string.Join(",", seen)}");
        }
    }
}
