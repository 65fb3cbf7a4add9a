using Filter.Compiler.Binding;

namespace Filter.Compiler.Analysis;

/// <summary>
/// Which syscall numbers, per arch, a condition, a rule or a policy can match: the set a record producer
/// needs (records for other syscalls need not even be built), and what the code generator's shared
/// syscall dispatch tests.
/// <para><b>Meaning.</b> A number n is in the set of arch A when some record with <c>arch == A</c> and
/// <c>syscall == n</c> satisfies the condition. <see cref="SyscallSets.OtherArch"/> answers the same for
/// records of any arch value not in <see cref="AuditArch.All"/>. Numbers beyond the syscall tables count
/// too (<c>uid == 0</c> alone gives <see cref="SyscallSet.All"/> for every arch).</para>
/// <para><b>Exactness.</b> The sets are never too small (sound). They are exact when the rest of the
/// condition, with arch and syscall fixed, is decided by per-field reasoning: comparisons and sets of one
/// field against constants, <c>(x &amp; m) != 0</c> bit tests, string equality and prefixes, combined with
/// <c>&amp;&amp;</c>, <c>||</c>, <c>!</c> (see <see cref="Satisfiability"/>). Conditions it cannot decide
/// (<c>uid == euid</c>, arithmetic on fields, very many cases) count as satisfiable, so a set may then hold
/// numbers for which no record matches. Every number it reports as exact has a witness record
/// (<see cref="FindWitness"/>).</para>
/// <para><b>Method.</b> Disjunctions are split (the set of <c>a || b</c> is the union of both sets). For the
/// rest, the syscall numbers are cut into intervals on which every syscall test is constant (at most a few
/// per range written in the condition), and one number per interval is checked. Results are memoised per
/// node, so macros shared between rules are analysed once per analysis.</para>
/// </summary>
public static class SyscallAnalysis
{
    /// <summary>Per arch, the syscall numbers for which <paramref name="condition"/> can hold.</summary>
    public static SyscallSets For(BoundBool condition) => new Analyzer().For(condition);

    /// <summary>
    /// Per arch, the syscall numbers that the condition's tests of the syscall number and of the arch allow,
    /// every other test taken to go either way: a superset of <see cref="For(BoundBool)"/> found without
    /// solving, in one pass over the condition per arch (what the code generator's per-syscall rule lists
    /// use). <paramref name="leaves"/> classifies the tests (one for all the conditions of a policy).
    /// </summary>
    internal static SyscallSets Allowed(BoundBool condition, Satisfiability leaves) =>
        new([.. AuditArch.All.Select((_, i) => Allowed(condition, true, i, leaves))], Allowed(condition, true, -1, leaves));

    private static SyscallSet Allowed(BoundBool node, bool positive, int arch, Satisfiability leaves)
    {
        switch (node)
        {
            case BoundBoolConst c:
                return c.Value == positive ? SyscallSet.All : SyscallSet.Empty;
            case BoundNot n:
                return Allowed(n.Operand, !positive, arch, leaves);
            case BoundLogical l:
            {
                // Holding for a conjunction (or failing for a disjunction) needs every operand to.
                bool every = l.IsAnd == positive;
                var set = every ? SyscallSet.All : SyscallSet.Empty;
                for (int i = 0; i < l.Operands.Count; i++) // an index: a foreach over the interface allocates
                {
                    var allowed = Allowed(l.Operands[i], positive, arch, leaves);
                    set = every ? set.Intersect(allowed) : set.Union(allowed);
                    if (every ? set.IsEmpty : set.IsAll) break;
                }
                return set;
            }
            case BoundBoolEquals:
                return SyscallSet.All;
            default:
                return leaves.HoldsFor(node, arch) is { } holds ? positive ? holds : holds.Complement() : SyscallSet.All;
        }
    }

    /// <summary>
    /// How many of the <c>never</c> rules before an <c>always</c> rule <see cref="For(BoundPolicy)"/> takes
    /// into account, the nearest first. Leaving one out can only keep a syscall in (a superset, which the
    /// dispatch allows); taking all made compiling 24,000 <c>never</c> rules and as many <c>always</c> ones
    /// (1 MB) quadratic in time and memory.
    /// </summary>
    public const int MaxNeverRules = 16;

    /// <summary>
    /// Per arch, the syscall numbers for which some record gets a non-zero verdict: some <c>always</c> rule
    /// can hold while no earlier <c>never</c> rule does. (An earlier <c>always</c> rule that holds gives a
    /// non-zero verdict too, so only the <c>never</c> rules before it can take a syscall away.) Of those
    /// <c>never</c> rules, the nearest <see cref="MaxNeverRules"/> are taken into account.
    /// </summary>
    public static SyscallSets For(BoundPolicy policy)
    {
        var analyzer = new Analyzer();
        var result = SyscallSets.None;
        var nevers = new List<BoundBool>();
        foreach (var rule in policy.Rules)
        {
            if (rule.Kind == RuleAction.Never) nevers.Add(new BoundNot(rule.Condition, rule.Span));
            else result = result.Union(analyzer.For(nevers.Count == 0 ? rule.Condition
                : And(rule.Condition, nevers.Count <= MaxNeverRules ? nevers : nevers.GetRange(nevers.Count - MaxNeverRules, MaxNeverRules), rule.Span)));
            if (result.IsUnconstrained) break;
        }
        return result;
    }

    /// <summary>
    /// Per arch, the syscall numbers for which rule <paramref name="index"/> of <paramref name="policy"/> can
    /// decide: its condition holds and no earlier rule's does. Empty for a rule that is never reached.
    /// </summary>
    public static SyscallSets Deciding(BoundPolicy policy, int index)
    {
        var rule = policy.Rules[index];
        var earlier = policy.Rules.Take(index).Select(r => (BoundBool)new BoundNot(r.Condition, r.Span)).ToList();
        return new Analyzer().For(earlier.Count == 0 ? rule.Condition : And(rule.Condition, earlier, rule.Span));
    }

    /// <summary>
    /// A record with this arch and syscall number on which <paramref name="condition"/> holds (checked with
    /// the reference evaluator), or null when the analysis cannot construct one: either none exists, or
    /// the condition is beyond its reasoning. An arch value outside <see cref="AuditArch.All"/> gets a
    /// record of some other unknown arch.
    /// </summary>
    public static byte[]? FindWitness(BoundBool condition, uint arch, uint syscall)
    {
        int index = -1;
        for (int i = 0; i < AuditArch.All.Count; i++)
            if (AuditArch.All[i].Value == arch) index = i;
        new Satisfiability().Solve(condition, true, new Satisfiability.Env(index, syscall), out var witness, buildWitness: true);
        return witness;
    }

    private static BoundBool And(BoundBool first, List<BoundBool> rest, TextSpan span) => new BoundLogical(true, [first, .. rest], span);

    private sealed class Analyzer
    {
        private readonly Satisfiability _sat = new();
        private readonly Dictionary<(BoundBool, bool, int), SyscallSet> _memo = new(new KeyComparer());

        public SyscallSets For(BoundBool condition) =>
            new(AuditArch.All.Select((_, i) => Set(condition, true, i)).ToList(), Set(condition, true, -1));

        /// <summary>The syscalls of arch <paramref name="arch"/> (-1: other) for which <paramref name="node"/> can equal <paramref name="positive"/>.</summary>
        private SyscallSet Set(BoundBool node, bool positive, int arch)
        {
            var key = (node, positive, arch);
            if (_memo.TryGetValue(key, out var known)) return known;
            var result = node switch
            {
                BoundBoolConst c => c.Value == positive ? SyscallSet.All : SyscallSet.Empty,
                BoundNot n => Set(n.Operand, !positive, arch),
                // A disjunction (|| holding, or && failing) can match a syscall when one of its operands can.
                BoundLogical l when l.IsAnd != positive => Union(l.Operands, positive, arch),
                _ => Partition(node, positive, arch),
            };
            _memo[key] = result;
            return result;
        }

        /// <summary>The union of the operands' sets; once it is every number the rest cannot add to it (a set of thousands of strings).</summary>
        private SyscallSet Union(IReadOnlyList<BoundBool> operands, bool positive, int arch)
        {
            var union = SyscallSet.Empty;
            foreach (var operand in operands)
            {
                union = union.Union(Set(operand, positive, arch));
                if (union.IsAll) break;
            }
            return union;
        }

        /// <summary>
        /// Checks one syscall number per interval on which every syscall test of the node is constant, and
        /// solves once per combination of those tests' values: intervals with the same tests holding give
        /// the same answer (a rule on a syscall class of a hundred numbers has two hundred intervals and
        /// two combinations).
        /// </summary>
        private SyscallSet Partition(BoundBool node, bool positive, int arch)
        {
            var tests = new List<IReadOnlyList<ValueRange>>();
            var points = _sat.Breakpoints(node, new Satisfiability.Env(arch, 0), tests);
            var answers = tests.Count <= 64 ? new Dictionary<ulong, bool>() : null;
            var ranges = new List<ValueRange>();
            ulong lo = 0;
            foreach (ulong next in points.Append(SyscallSet.MaxNumber + 1))
            {
                if (CanHold(node, positive, arch, lo, tests, answers)) ranges.Add(new ValueRange(lo, next - 1));
                lo = next;
            }
            return SyscallSet.Of(ranges);
        }

        private bool CanHold(BoundBool node, bool positive, int arch, ulong syscall, List<IReadOnlyList<ValueRange>> tests, Dictionary<ulong, bool>? answers)
        {
            if (answers is null) return _sat.Solve(node, positive, new Satisfiability.Env(arch, syscall)) != Satisfiability.Outcome.Unsatisfiable;
            ulong holding = 0;
            for (int i = 0; i < tests.Count; i++)
                if (RangeList.Contains(tests[i], syscall)) holding |= 1UL << i;
            if (!answers.TryGetValue(holding, out bool can))
                answers[holding] = can = _sat.Solve(node, positive, new Satisfiability.Env(arch, syscall)) != Satisfiability.Outcome.Unsatisfiable;
            return can;
        }

        private sealed class KeyComparer : IEqualityComparer<(BoundBool Node, bool Positive, int Arch)>
        {
            public bool Equals((BoundBool Node, bool Positive, int Arch) x, (BoundBool Node, bool Positive, int Arch) y) =>
                ReferenceEquals(x.Node, y.Node) && x.Positive == y.Positive && x.Arch == y.Arch;

            public int GetHashCode((BoundBool Node, bool Positive, int Arch) k) =>
                HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(k.Node), k.Positive, k.Arch);
        }
    }
}
