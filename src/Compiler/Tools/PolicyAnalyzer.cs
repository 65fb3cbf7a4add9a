using Filter.Compiler.Analysis;
using Filter.Compiler.Binding;
using Filter.Compiler.Tables;

namespace Filter.Compiler.Tools;

/// <summary>
/// The syscalls one condition can match on one arch (<paramref name="Arch"/> "other": any arch value not in
/// <see cref="AuditArch.All"/>). <paramref name="Unproven"/> holds the numbers checked for which no witness
/// record was found: they may be an over-approximation. <see cref="Exact"/> when it is empty: every named
/// syscall of the set and the first number of each of its ranges has a record that matches, checked with
/// the reference evaluator.
/// </summary>
public sealed record ArchSyscalls(string Arch, uint? ArchValue, SyscallSet Set, SyscallSet Unproven)
{
    /// <summary>Whether some number of the set has a witness record.</summary>
    public bool HasWitness { get; init; }

    public bool Exact => Unproven.IsEmpty;

    /// <summary>The syscall names of the set on this arch, by number (none for other arches).</summary>
    public IReadOnlyList<string> Names => ArchValue is { } a ? Set.Names(a).ToList() : [];
}

public enum RuleStatus
{
    /// <summary>Some record is decided by the rule (a witness exists).</summary>
    Decides,
    /// <summary>No record satisfies the condition (proven).</summary>
    NeverMatches,
    /// <summary>Records satisfy the condition, but earlier rules decide all of them (proven).</summary>
    Shadowed,
    /// <summary>The analysis found no record the rule decides, and cannot prove that none exists.</summary>
    MayNeverDecide,
}

/// <summary>
/// One rule: the syscalls its condition can match (<paramref name="Matches"/>), and those for which it can
/// decide, no earlier rule holding (<paramref name="Decides"/>). <paramref name="OverlappingEarlier"/> lists
/// (0-based) the earlier rules that can hold on a record this rule matches (for a shadowed rule: the rules
/// that shadow it). <paramref name="WorstCase"/>: for an <c>always</c> rule, the most instructions executed
/// by a run that ends in its verdict.
/// </summary>
public sealed record RuleAnalysis(int Index, RuleAction Kind, string? Key, int Verdict, int Line, string Text,
    IReadOnlyList<ArchSyscalls> Matches, IReadOnlyList<ArchSyscalls> Decides, RuleStatus Status,
    IReadOnlyList<int> OverlappingEarlier, int? WorstCase);

/// <summary>Everything <c>filterc analyze</c> reports (spec/tools.md).</summary>
public sealed record PolicyReport(IReadOnlyList<ArchSyscalls> Policy, IReadOnlyList<RuleAnalysis> Rules,
    IReadOnlyList<Diagnostic> Warnings, WorstCase WorstCase, int InstructionCount);

/// <summary>
/// Analyses a compiled policy with the syscall analysis (<see cref="SyscallAnalysis"/>): per arch, the
/// syscalls the policy and each rule can match; rules that never match or never decide; sub-conditions that
/// are always true or false; and, from the verified code, the worst-case instructions per record.
/// <para>Every "never" claim (an empty set, a shadowed rule, an always-false condition) is a proof: the
/// analysis says "unsatisfiable" only when it is. Every "can match" claim is checked by a witness record
/// where the analysis finds one; what it cannot check is reported as unproven, never hidden.</para>
/// </summary>
public static class PolicyAnalyzer
{
    public static PolicyReport Analyze(Compilation compilation, VerifiedProgram program)
    {
        var policy = compilation.Policy ?? throw new ArgumentException("the compilation failed: nothing to analyse", nameof(compilation));
        var source = new PolicySource(compilation.Source);
        var worst = WorstCaseAnalysis.Analyze(program.Image);
        var warnings = new List<Diagnostic>();

        var rules = new List<RuleAnalysis>();
        for (int i = 0; i < policy.Rules.Count; i++)
        {
            var rule = policy.Rules[i];
            var condition = rule.Condition;
            var deciding = i == 0 ? condition
                : new BoundLogical(true, [condition, .. policy.Rules.Take(i).Select(r => (BoundBool)new BoundNot(r.Condition, r.Span))], rule.Span);
            var matches = PerArch(SyscallAnalysis.For(condition), r => ReferenceEvaluator.Evaluate(condition, r), [condition]);
            // A witness of the condition alone on which no earlier rule holds is found far more often than one of
            // the whole deciding condition, whose negated earlier rules multiply into too many cases to solve.
            int index = i;
            var decides = PerArch(SyscallAnalysis.For(deciding), r => ReferenceEvaluator.DecidingRule(policy, r) == index, [condition, deciding]);
            var overlapping = Enumerable.Range(0, i)
                .Where(j => !SyscallAnalysis.For(new BoundLogical(true, [condition, policy.Rules[j].Condition], rule.Span)).IsEmpty)
                .ToList();
            var status = matches.All(a => a.Set.IsEmpty) ? RuleStatus.NeverMatches
                : decides.All(a => a.Set.IsEmpty) ? RuleStatus.Shadowed
                : !decides.Any(a => a.HasWitness) ? RuleStatus.MayNeverDecide
                : RuleStatus.Decides;
            string header = rule.Kind == RuleAction.Never ? "never" : rule.Key is "" ? "always" : $"always \"{PrintableText.Escape(rule.Key!)}\"";
            string name = $"rule {i + 1} ({header})";
            switch (status)
            {
                case RuleStatus.NeverMatches:
                    warnings.Add(Warn(DiagnosticCode.RuleNeverMatches, rule.Span, $"{name} never matches: no record satisfies its condition"));
                    break;
                case RuleStatus.Shadowed:
                    warnings.Add(Warn(DiagnosticCode.RuleShadowed, rule.Span,
                        $"{name} never decides: every record it matches is decided by an earlier rule ({string.Join(", ", overlapping.Select(j => $"rule {j + 1}"))})"));
                    break;
                case RuleStatus.MayNeverDecide:
                    warnings.Add(Warn(DiagnosticCode.RuleMayNeverDecide, rule.Span,
                        $"{name} may never decide: the analysis found no record on which it decides, but cannot prove that there is none"));
                    break;
            }
            // The longest path to the rule's `ret` is meaningful only for a rule that can decide.
            int? ruleWorst = rule.Kind == RuleAction.Always && status is RuleStatus.Decides or RuleStatus.MayNeverDecide
                && rule.Verdict < worst.PerVerdict.Count ? worst.PerVerdict[rule.Verdict] : null;
            rules.Add(new RuleAnalysis(i, rule.Kind, rule.Key, rule.Verdict, source.LineOf(rule.Span.Start),
                source.RuleText(rule), matches, decides, status, overlapping, ruleWorst));
        }

        warnings.AddRange(ConstantConditions(policy, source, rules));
        // The policy matches where some always rule decides: try their conditions, then the whole match condition.
        var policySets = PerArch(SyscallAnalysis.For(policy), r => ReferenceEvaluator.Evaluate(policy, r) != 0,
            [.. policy.Rules.Where(r => r.Kind == RuleAction.Always).Select(r => r.Condition), policy.MatchCondition]);
        return new PolicyReport(policySets, rules, warnings.OrderBy(w => w.Span.Start).ToList(), worst, program.InstructionCount);
    }

    private static Diagnostic Warn(DiagnosticCode code, TextSpan span, string message) => new(code, span, message, Severity.Warning);

    /// <summary>
    /// Sub-conditions that hold on every record or on none, outermost first (what is inside one is not
    /// reported again); a macro's body is reported once, where it is defined. A whole condition that never
    /// holds is the rule's "never matches"; literal <c>true</c>/<c>false</c> are meant and not reported.
    /// </summary>
    private static List<Diagnostic> ConstantConditions(BoundPolicy policy, PolicySource source, List<RuleAnalysis> rules)
    {
        var result = new List<Diagnostic>();
        var seen = new HashSet<BoundBool>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < policy.Rules.Count; i++)
        {
            var condition = policy.Rules[i].Condition;
            if (condition is not BoundBoolConst && rules[i].Status != RuleStatus.NeverMatches && SyscallAnalysis.For(new BoundNot(condition, condition.Span)).IsEmpty)
            {
                seen.Add(condition);
                result.Add(Warn(DiagnosticCode.AlwaysTrue, condition.Span,
                    $"the condition of rule {i + 1} holds on every record{(i + 1 < policy.Rules.Count ? ": no later rule ever decides" : "")}"));
                continue;
            }
            seen.Add(condition);
            foreach (var child in Children(condition)) Visit(child);
        }
        return result;

        void Visit(BoundBool node)
        {
            if (node is BoundBoolConst || !seen.Add(node)) return;
            string text = source.TextOf(node.Span);
            if (SyscallAnalysis.For(node).IsEmpty)
                result.Add(Warn(DiagnosticCode.AlwaysFalse, node.Span, $"'{text}' is always false: no record satisfies it"));
            else if (SyscallAnalysis.For(new BoundNot(node, node.Span)).IsEmpty)
                result.Add(Warn(DiagnosticCode.AlwaysTrue, node.Span, $"'{text}' is always true: every record satisfies it"));
            else
                foreach (var child in Children(node)) Visit(child);
        }
    }

    private static IEnumerable<BoundBool> Children(BoundBool node) => node switch
    {
        BoundLogical l => l.Operands,
        BoundNot n => [n.Operand],
        BoundBoolEquals e => [e.Left, e.Right],
        _ => [],
    };

    // ---------------------------------------------------------------- witnesses

    /// <summary>A record predicate (ref struct records cannot go through <see cref="Func{T, TResult}"/>).</summary>
    private delegate bool Holds(Record record);

    private static List<ArchSyscalls> PerArch(SyscallSets sets, Holds holds, IReadOnlyList<BoundBool> candidates)
    {
        var result = AuditArch.All.Select((a, i) => Check(holds, candidates, a.Name, a.Value, sets.PerArch[i])).ToList();
        result.Add(Check(holds, candidates, "other", null, sets.OtherArch));
        return result;
    }

    /// <summary>
    /// Looks for a witness for every named syscall of the set and the first number of each range: a record of
    /// that arch and syscall on which <paramref name="holds"/> (the reference evaluator). Candidates are the
    /// analysis's witnesses of <paramref name="candidates"/>, in order. A witness found for one number is tried
    /// first for the next (with its syscall changed), so a set of one shape costs one search, not one per number.
    /// </summary>
    private static ArchSyscalls Check(Holds holds, IReadOnlyList<BoundBool> candidates, string name, uint? arch, SyscallSet set)
    {
        // An arch value none of the tables has, for records of "other" arches.
        uint archValue = arch ?? 0;
        var numbers = new SortedSet<ulong>(set.Ranges.Select(r => r.Lo));
        if (arch is { } a)
            foreach (var (_, number) in Syscalls.ForArch(a))
                if (set.Contains((ulong)number)) numbers.Add((ulong)number);
        var unproven = new List<ValueRange>();
        byte[]? last = null;
        bool any = false;
        foreach (ulong n in numbers)
        {
            if (last is not null)
            {
                var builder = new RecordBuilder();
                builder.CopyFrom(new Record(last));
                builder.SetScalar(RecordLayout.ScalarNamed("syscall")!, n);
                var patched = builder.ToArray();
                if (holds(new Record(patched))) { any = true; continue; }
            }
            var witness = candidates.Select(c => SyscallAnalysis.FindWitness(c, archValue, (uint)n)).FirstOrDefault(w => w is not null && holds(new Record(w)));
            if (witness is null) unproven.Add(new ValueRange(n, n));
            else (last, any) = (witness, true);
        }
        return new ArchSyscalls(name, arch, set, SyscallSet.Of(unproven)) { HasWitness = any };
    }
}
