using System.Text;
using System.Text.Json;
using Filter.Compiler;
using Filter.Compiler.Tools;
using Filter.Tests.Engines;
using Filter.Tests.Properties;
using Filter.VM;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Filter.Tests.Tools;

/// <summary><c>filterc explain</c>: the deciding rule and each evaluated sub-expression, in source terms.</summary>
public class ExplainTests
{
    private const string Policy =
        "list lifecycle = (fork, vfork, clone, execve, exit_group)\n" +
        "list admin_uids = (0, 1000..1999)\n" +
        "macro root = uid == 0\n" +
        "macro root_exec = syscall == execve && root\n" +
        "never: syscall in (gettimeofday, clock_gettime)\n" +
        "always \"exec\": root_exec\n" +
        "always \"lifecycle\": syscall in lifecycle && uid in admin_uids\n" +
        "always: exit == -EACCES || comm != \"sh\"\n";

    private static byte[] Rec(uint syscall, uint uid, long exit = 0, string comm = "sh")
    {
        var b = new RecordBuilder();
        b.SetU32(RecordLayout.Arch, AuditArch.X86_64);
        b.SetU32(RecordLayout.Syscall, syscall);
        b.SetScalar(RecordLayout.ScalarNamed("uid")!, uid);
        b.SetExit(exit);
        b.SetComm(comm);
        return b.ToArray();
    }

    private static Explanation Explain(string text, byte[] record) => PolicyExplainer.Explain(TestPrograms.Compile(text), new Record(record));

    [Fact]
    public void FirstRuleThatHoldsDecidesAndLaterRulesAreNotEvaluated()
    {
        var e = Explain(Policy, Rec(59, 1000));
        Assert.Equal((2, 2, "lifecycle"), (e.DecidingRule, e.Verdict, e.Key));
        Assert.Equal([false, false, true, null], e.Rules.Select(r => r.Holds));
        Assert.Equal(
            "record: arch=x86_64 syscall=59 (execve)\n" +
            "rule 1 (line 5) never: syscall in (gettimeofday, clock_gettime)  -> false\n" +
            "  syscall in (gettimeofday, clock_gettime)   [syscall = 59 (execve)]  -> false\n" +
            "rule 2 (line 6) always \"exec\": root_exec  -> false\n" +
            "  root_exec (macro: syscall == execve && root)  -> false\n" +
            "    syscall == execve   [syscall = 59 (execve)]  -> true\n" +
            "    root (macro: uid == 0)   [1000 == 0]  -> false\n" +
            "rule 3 (line 7) always \"lifecycle\": syscall in lifecycle && uid in admin_uids  -> true\n" +
            "  syscall in lifecycle && uid in admin_uids  -> true\n" +
            "    syscall in lifecycle   [syscall = 59 (execve)]  -> true\n" +
            "    uid in admin_uids   [uid = 1000]  -> true\n" +
            "rule 4 (line 8) always: exit == -EACCES || comm != \"sh\"\n" +
            "  not evaluated: an earlier rule decided\n" +
            "verdict 2: decided by rule 3, key \"lifecycle\"\n",
            e.Render());
    }

    [Fact]
    public void NeverRuleDecidesDrop()
    {
        var e = Explain(Policy, Rec(96, 0));
        Assert.Equal((0, 0, (string?)null), (e.DecidingRule, e.Verdict, e.Key));
        Assert.EndsWith("verdict 0 (drop): decided by rule 1, a never rule\n", e.Render());
    }

    [Fact]
    public void NoRuleHolding()
    {
        var e = Explain(Policy, Rec(0, 5));
        Assert.Equal((-1, 0), (e.DecidingRule, e.Verdict));
        Assert.EndsWith("verdict 0 (drop): no rule holds\n", e.Render());
    }

    [Fact]
    public void ShortCircuitedOperandsAreShownAsNotEvaluated()
    {
        // || stops at the first true operand: exit == -EACCES holds, comm is never looked at.
        var e = Explain(Policy, Rec(0, 5, exit: -13, comm: "sh"));
        var or = e.Rules[3].Condition!;
        Assert.Equal([(true, true, "-13 == -13"), (false, false, null)], or.Children.Select(c => (c.Evaluated, c.Value, c.Detail)));
        Assert.Contains("    comm != \"sh\"  -> not evaluated\n", e.Render());
        // && stops at the first false one.
        var root = Explain(Policy, Rec(0, 5)).Rules[1].Condition!;
        Assert.Equal([true, false], root.Children.Select(c => c.Evaluated));
    }

    [Fact]
    public void NegatedStringTestShowsTheFieldValue()
    {
        var e = Explain(Policy, Rec(0, 5, comm: "bash"));
        var comm = e.Rules[3].Condition!.Children[1];
        Assert.Equal(("comm != \"sh\"", "comm = \"bash\"", true), (comm.Text, comm.Detail, comm.Value));
    }

    [Fact]
    public void SingleExpressionFilterIsOneAnonymousRule()
    {
        var e = Explain("syscall == execve && uid != 0", Rec(59, 1000));
        Assert.Equal((0, 1, ""), (e.DecidingRule, e.Verdict, e.Key));
        Assert.StartsWith("record: arch=x86_64 syscall=59 (execve)\nrule 1 (line 1) always: syscall == execve && uid != 0  -> true\n", e.Render());
        Assert.Contains("uid != 0   [1000 != 0]  -> true", e.Render());
    }

    /// <summary>The explanation agrees with the reference evaluator on every rule it evaluates, and on the verdict.</summary>
    [Fact]
    public void AgreesWithTheReferenceEvaluatorOnRandomPolicies()
    {
        var cases = Gen.Zip(PolicyGen.Policy, FilterGen.Record.ArrayOf(10)).ToArbitrary();
        Check.One(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(100), Prop.ForAll(cases, c =>
        {
            var compilation = TestPrograms.Compile(c.Item1);
            var policy = compilation.Policy!;
            foreach (var bytes in c.Item2)
            {
                var record = new Record(bytes);
                var e = PolicyExplainer.Explain(compilation, record);
                Assert.Equal(ReferenceEvaluator.DecidingRule(policy, record), e.DecidingRule);
                Assert.Equal(ReferenceEvaluator.Evaluate(policy, record), e.Verdict);
                foreach (var rule in e.Rules.Where(r => r.Condition is not null))
                {
                    Assert.Equal(ReferenceEvaluator.Evaluate(policy.Rules[rule.Index].Condition, record), rule.Holds);
                    CheckShortCircuit(rule.Condition!);
                }
            }
        }));
    }

    /// <summary>Within &amp;&amp;/||, exactly the operands up to the deciding one are evaluated.</summary>
    private static void CheckShortCircuit(ExplainStep step)
    {
        if (!step.Evaluated) return;
        int evaluated = step.Children.TakeWhile(c => c.Evaluated).Count();
        Assert.All(step.Children.Skip(evaluated), c => Assert.False(c.Evaluated));
        foreach (var child in step.Children) CheckShortCircuit(child);
    }

    [Fact]
    public void JsonCarriesTheWholeExplanation()
    {
        string json = Explain(Policy, Rec(59, 1000)).Json("p.flt");
        Assert.Contains("\"text\": \"syscall == execve && root\"", json); // source text as written, not \u0026
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.Equal(1, root.GetProperty("version").GetInt32());
        Assert.Equal("p.flt", root.GetProperty("file").GetString());
        var record = root.GetProperty("record");
        Assert.Equal(("x86_64", "0xc000003e", 59, "execve"),
            (record.GetProperty("arch").GetString(), record.GetProperty("archValue").GetString(),
             record.GetProperty("syscall").GetInt32(), record.GetProperty("syscallName").GetString()));
        Assert.Equal((2, 3, "lifecycle"),
            (root.GetProperty("verdict").GetInt32(), root.GetProperty("decidingRule").GetInt32(), root.GetProperty("key").GetString()));

        var rules = root.GetProperty("rules").EnumerateArray().ToArray();
        Assert.Equal([1, 2, 3, 4], rules.Select(r => r.GetProperty("index").GetInt32()));
        Assert.Equal(["never", "always", "always", "always"], rules.Select(r => r.GetProperty("kind").GetString()));
        Assert.Equal([5, 6, 7, 8], rules.Select(r => r.GetProperty("line").GetInt32()));
        Assert.Equal([true, true, true, false], rules.Select(r => r.GetProperty("evaluated").GetBoolean()));
        Assert.Equal([false, false, true], rules.Take(3).Select(r => r.GetProperty("holds").GetBoolean()));
        Assert.False(rules[3].TryGetProperty("holds", out _));
        Assert.False(rules[3].TryGetProperty("condition", out _));
        Assert.False(rules[0].TryGetProperty("key", out _)); // a never rule
        Assert.Equal("", rules[3].GetProperty("key").GetString()); // an always rule without one

        // Rule 2: a macro used by name, its body's steps below it, each with what it looked at.
        var exec = rules[1].GetProperty("condition");
        Assert.Equal(("root_exec", "syscall == execve && root", 4, false),
            (exec.GetProperty("macro").GetString(), exec.GetProperty("text").GetString(), exec.GetProperty("line").GetInt32(), exec.GetProperty("value").GetBoolean()));
        var steps = exec.GetProperty("children").EnumerateArray().ToArray();
        Assert.Equal(("syscall == execve", "syscall = 59 (execve)", true),
            (steps[0].GetProperty("text").GetString(), steps[0].GetProperty("detail").GetString(), steps[0].GetProperty("value").GetBoolean()));
        Assert.Equal(("root", "uid == 0", "1000 == 0", false),
            (steps[1].GetProperty("macro").GetString(), steps[1].GetProperty("text").GetString(),
             steps[1].GetProperty("detail").GetString(), steps[1].GetProperty("value").GetBoolean()));

        // Nothing holds: no deciding rule, no key; an operand && skipped has no value.
        using var none = JsonDocument.Parse(Explain("always: uid == 1 || uid == 2\nalways: syscall == 2 && uid == 3\n", Rec(1, 7)).Json("q"));
        Assert.Equal(JsonValueKind.Null, none.RootElement.GetProperty("decidingRule").ValueKind);
        Assert.Equal(0, none.RootElement.GetProperty("verdict").GetInt32());
        Assert.False(none.RootElement.TryGetProperty("key", out _));
        var and = none.RootElement.GetProperty("rules")[1].GetProperty("condition").GetProperty("children");
        Assert.False(and[0].GetProperty("value").GetBoolean());
        Assert.False(and[1].GetProperty("evaluated").GetBoolean());
        Assert.False(and[1].TryGetProperty("value", out _));
        Assert.False(and[1].TryGetProperty("detail", out _));
    }

    [Fact]
    public void CliExplainsAnAuditdEventBySerial()
    {
        var dir = Directory.CreateTempSubdirectory("filterc-explain").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "p.flt"), "never: syscall == write && uid == 0\nalways \"w\": syscall == write\n");
            var (code, output, err) = Cli("explain", Path.Combine(dir, "p.flt"), "--event", "565481", Engines.TestData.Path("samples", "audit.log"));
            Assert.Equal((0, ""), (code, err));
            Assert.StartsWith("record: arch=x86_64 syscall=1 (write)\n", output);
            Assert.Contains("  uid == 0   [0 == 0]  -> true\n", output);
            Assert.EndsWith("verdict 0 (drop): decided by rule 1, a never rule\n", output);
            var (missing, _, missingErr) = Cli("explain", Path.Combine(dir, "p.flt"), "--event", "1", Engines.TestData.Path("samples", "audit.log"));
            Assert.Equal(1, missing);
            Assert.Contains("no event with serial 1", missingErr);
            var (json, jsonOut, _) = Cli("explain", "--filter", "uid != 0", "--record", "{\"arch\":\"x86_64\",\"syscall\":59,\"uid\":1000}");
            Assert.Equal(0, json);
            Assert.Contains("uid != 0   [1000 != 0]  -> true", jsonOut);
            var (asJson, jsonText, _) = Cli("explain", "--filter", "uid != 0", "--record", "{\"arch\":\"x86_64\",\"syscall\":59,\"uid\":1000}", "--json");
            Assert.Equal(0, asJson);
            using var doc = JsonDocument.Parse(jsonText);
            Assert.Equal(1, doc.RootElement.GetProperty("verdict").GetInt32());
            Assert.Equal("1000 != 0", doc.RootElement.GetProperty("rules")[0].GetProperty("condition").GetProperty("detail").GetString());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    internal static (int Code, string Out, string Err) Cli(params string[] args)
    {
        var stdout = new MemoryStream();
        var stderr = new StringWriter();
        int code = Filter.Cli.Program.Run(args, () => new MemoryStream(), stdout, stderr);
        return (code, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString());
    }
}
