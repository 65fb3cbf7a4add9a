using System.Text;
using System.Text.Json;
using Filter.Audit.Formats;
using Filter.Compiler;
using Filter.Compiler.Import;
using Filter.Tests.Engines;
using Filter.VM;
using Xunit;

namespace Filter.Tests.Import;

/// <summary>
/// The auditctl-import kernel differential (issue 7): <c>Data/auditctl-import</c> holds a rules file of 43
/// syscall rules, the SYSCALL records the Linux kernel logged under it (made by
/// tools/oracle/auditctl-import/run.sh, keys prefixed with the run's tag) and the kernel's keys. For every
/// event, the policy imported from the rules file must compute the key the kernel logged, on every engine;
/// the run's catch-all key means "no rule of the file matched": verdict 0. Pass 2 loaded each never rule as
/// an always rule keyed <c>never@LINE</c> (rules-never-pass.rules), to see what the never rules match.
/// </summary>
public class AuditctlKernelDifferentialTests
{
    private static string Dir => Path.Combine(AppContext.BaseDirectory, "Data", "auditctl-import");

    private static readonly string Tag = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "run.json"))).RootElement.GetProperty("tag").GetString()!;

    public static IEnumerable<object[]> Passes() => FilterEngines.Cross([[1, "rules.rules"], [2, "rules-never-pass.rules"]]);

    private static ImportResult Import(string rulesFile)
    {
        var (map, error) = ExeResolvers.ParseMap(File.ReadAllText(Path.Combine(Dir, "exe-map.tsv")));
        Assert.True(map is not null, error);
        var options = new ImportOptions { HostArch = AuditArch.X86_64, ResolveExe = ExeResolvers.FromMap(map!) };
        var result = AuditctlImporter.Import(File.ReadAllText(Path.Combine(Dir, rulesFile)), rulesFile, options);
        Assert.False(result.HasErrors(strict: false), string.Join("\n", result.Findings.Select(d => d.ToDiagnostic(false).Render())));
        return result;
    }

    /// <summary>The key the kernel logged in a SYSCALL line (quoted, hex when it has a control character, or (null)), with the run tag removed from each part; null for the catch-all.</summary>
    private static string? KernelKey(ReadOnlySpan<byte> line, AuditdEventId id)
    {
        string text = Encoding.UTF8.GetString(line).Split('\x1d')[0];
        int at = text.LastIndexOf(" key=", StringComparison.Ordinal);
        Assert.True(at >= 0, $"event {id}: no key in {text}");
        string raw = text[(at + 5)..].Split(' ')[0];
        string key = raw == "(null)" ? ""
            : raw.StartsWith('"') ? raw.Trim('"')
            : Encoding.UTF8.GetString(Convert.FromHexString(raw));
        var parts = key.Split(AuditctlImporter.KeySeparator);
        Assert.True(parts.All(p => p.StartsWith(Tag + "-", StringComparison.Ordinal)), $"event {id}: key '{key}' is not this run's");
        var untagged = parts.Select(p => p[(Tag.Length + 1)..]).ToArray();
        return untagged is ["catchall"] ? null : string.Join(AuditctlImporter.KeySeparator, untagged);
    }

    private static Func<byte[], uint> Verdicts(FilterEngine engine, Compilation c) => engine.Name switch
    {
        "reference" => bytes => (uint)ReferenceEvaluator.Evaluate(c.Policy!, new Record(bytes)),
        "interpreter" => Interpreter(c),
        "jit" => Jitted(c),
        _ => throw new ArgumentException($"unknown engine {engine.Name}"),
    };

    private static Func<byte[], uint> Interpreter(Compilation c)
    {
        var program = TestPrograms.Verify(c.Image!);
        return bytes => Filter.VM.Interpreter.Run(program, new Record(bytes));
    }

    private static Func<byte[], uint> Jitted(Compilation c)
    {
        var jit = Filter.VM.Jit.Compile(TestPrograms.Verify(c.Image!));
        return bytes => jit.Run(new Record(bytes));
    }

    private static string Show(string? key) => key is null ? "(catch-all: no rule)" : $"\"{key.Replace("\x01", "\\x01")}\"";

    [Theory]
    [MemberData(nameof(Passes))]
    public void TheImportedPolicyComputesTheKeyTheKernelLogged(FilterEngine engine, int pass, string rulesFile)
    {
        var imported = Import(rulesFile);
        var compilation = TestPrograms.Compile(imported.Policy);
        var verdict = Verdicts(engine, compilation);
        var builder = new RecordBuilder();
        var mismatches = new List<string>();
        var kernelKeys = new List<string>();
        int events = 0;
        using (var reader = AuditdReader.OpenFiles([Path.Combine(Dir, $"pass{pass}.log.gz")]))
        {
            ReadResult result;
            while ((result = reader.Read(builder)) == ReadResult.Record)
            {
                events++;
                Assert.True(reader.HasSyscall && reader.LineCount == 1, $"event {reader.EventId}: expected one SYSCALL line");
                string? kernel = KernelKey(reader.GetLine(0), reader.EventId);
                kernelKeys.Add(kernel is null ? "(catch-all)" : kernel.Replace("\x01", "\\x01"));
                uint v = verdict(builder.ToArray());
                string? ours = v == 0 ? null : compilation.KeyOf(v);
                if (ours != kernel) mismatches.Add($"event {reader.EventId}: kernel {Show(kernel)}, policy {Show(ours)} (verdict {v})");
            }
            Assert.True(result == ReadResult.End, reader.Error?.Render());
        }
        Assert.True(mismatches.Count == 0, $"{engine} pass {pass}: {mismatches.Count} of {events} events differ:\n{string.Join("\n", mismatches.Take(20))}");
        // the committed verdicts are the log's, in order
        var expected = File.ReadLines(Path.Combine(Dir, $"pass{pass}.verdicts.tsv")).Skip(1).Select(l => l.Split('\t')[3]).ToList();
        Assert.Equal(expected, kernelKeys);
        Assert.True(events > 500, $"only {events} events");
    }

    /// <summary>
    /// Stricter, with the reference evaluator's deciding rule: an event keyed K was decided by an always rule
    /// keyed K; a catch-all event by no rule (not by a never rule, which would have dropped it). And every
    /// rule of the file decides some event: always rules in pass 1, the never rules (as never@LINE) in pass 2.
    /// </summary>
    [Fact]
    public void EveryRuleDecidesSomeEventAndNoNeverRuleMatchesALoggedOne()
    {
        var undecided = new List<string>();
        foreach (var (pass, file) in new[] { (1, "rules.rules"), (2, "rules-never-pass.rules") })
        {
            var imported = Import(file);
            var policy = TestPrograms.Compile(imported.Policy).Policy!;
            Assert.Equal(imported.Rules.Count + 1, policy.Rules.Count);     // + never: type != syscall
            var decided = new int[policy.Rules.Count];
            var builder = new RecordBuilder();
            using var reader = AuditdReader.OpenFiles([Path.Combine(Dir, $"pass{pass}.log.gz")]);
            while (reader.Read(builder) == ReadResult.Record)
            {
                string? kernel = KernelKey(reader.GetLine(0), reader.EventId);
                int rule = ReferenceEvaluator.DecidingRule(policy, new Record(builder.ToArray()));
                if (kernel is null) Assert.True(rule < 0, $"pass {pass} event {reader.EventId}: logged by the catch-all, but rule {rule} ({(rule >= 0 ? imported.Rules[rule - 1].Text : "")}) holds");
                else
                {
                    Assert.True(rule > 0 && policy.Rules[rule].Kind == RuleAction.Always && policy.Rules[rule].Key == kernel,
                        $"pass {pass} event {reader.EventId}: kernel {Show(kernel)}, deciding rule {rule}");
                    decided[rule]++;
                }
            }
            for (int i = 1; i < policy.Rules.Count; i++)
            {
                var rule = imported.Rules[i - 1];
                bool expectDecides = pass == 1 ? rule.Always : rule.Key.StartsWith("never@", StringComparison.Ordinal);
                if (expectDecides && decided[i] == 0) undecided.Add($"pass {pass}, line {rule.Line}: {rule.Text}");
            }
        }
        Assert.True(undecided.Count == 0, "rules the workload never exercised:\n" + string.Join("\n", undecided));
    }
}
