using Filter.Compiler.Analysis;
using Filter.Compiler.Binding;

namespace Filter.Compiler.CodeGen;

/// <summary>
/// Per-syscall rule lists, as the kernel keeps its audit rules (spec/language.md, "How a policy runs"): a run
/// of consecutive rules that each hold only for some syscalls compiles to a dispatch on the arch and a
/// <c>jswitch</c> on the syscall number, whose case for a syscall runs only the run's rules that can hold for
/// it, in the policy's order, and then goes on after the run; a syscall no rule of the run can hold for goes
/// on at once. A rule's syscalls are those it names (<c>syscall in S &amp;&amp; rest</c>) or, for any other
/// form, those its tests of the syscall number and the arch allow (<see cref="SyscallAnalysis.Allowed"/>: an
/// imported <c>perm</c> or <c>syscall &lt; 2048</c> rule), when they are at most
/// <see cref="MaxAnalysedSyscalls"/> per arch. In a case, each rule's tests of the arch and the syscall
/// number are decided for the case's syscalls: the cases are cut where one of them changes. A rule of
/// neither kind (or one that can hold for more syscalls) stays where it is, between runs, so that the first
/// rule that holds still decides for every record. A rule in k lists is in k cases; the code of a rule's
/// rest is shared where lists continue alike and its tests decide alike (across arches, for example).
/// </summary>
internal static class RuleDispatch
{
    /// <summary>Fewer rules than this in a run are tested one after the other: a dispatch costs about what they do.</summary>
    public const int MinRules = 4;

    /// <summary>
    /// The most syscall numbers per arch of a rule put in a run for what the analysis finds: each is a case
    /// the rule's code may be repeated in, with the different rules after it in each case.
    /// </summary>
    public const ulong MaxAnalysedSyscalls = 512;

    /// <summary>
    /// A rule of a run: its index in the policy, the syscalls (per arch) for which it can hold, and what it
    /// requires of a record with one of them (the whole condition, or what follows <c>syscall in S</c>).
    /// </summary>
    /// <param name="Syscalls">Per arch of AuditArch.All, then for every other arch: sorted, disjoint ranges (a named set's own).</param>
    public sealed record Member(int Rule, IReadOnlyList<ValueRange>[] Syscalls, BoundBool Rest);

    /// <summary>A case of a run's dispatch: syscall numbers, the members that can hold for them, and how each one's arch and syscall tests decide.</summary>
    public sealed record Case(ValueRange Range, int[] Members, ulong[] Decisions);

    /// <summary>
    /// The policy as rules tested in order (a null run: the rule alone) and runs dispatched on the syscall, in
    /// order; and per arch, a superset of the syscalls for which some <c>always</c> rule can hold (no other
    /// syscall can get a non-zero verdict), when some rule is in no run (else all of them).
    /// </summary>
    public static (List<(int Rule, List<Member>? Run)> Steps, SyscallSets Reachable) Plan(BoundPolicy policy, Satisfiability leaves)
    {
        var members = new Member?[policy.Rules.Count];
        var always = new List<IReadOnlyList<ValueRange>[]>();
        for (int r = 0; r < policy.Rules.Count; r++)
        {
            var condition = policy.Rules[r].Condition;
            IReadOnlyList<ValueRange>[] syscalls;
            if (Split(condition) is var (named, rest))
                members[r] = new Member(r, syscalls = [.. named.PerArch.Append(named.OtherArch).Select(set => set?.Ranges ?? [])], rest);
            else
            {
                var allowed = SyscallAnalysis.Allowed(condition, leaves);
                syscalls = [.. allowed.PerArch.Append(allowed.OtherArch).Select(set => set.Ranges)];
                if (allowed.OtherArch.Count <= MaxAnalysedSyscalls && allowed.PerArch.All(set => set.Count <= MaxAnalysedSyscalls))
                    members[r] = new Member(r, syscalls, condition);
            }
            if (policy.Rules[r].Kind == RuleAction.Always) always.Add(syscalls);
        }

        var plan = new List<(int Rule, List<Member>? Run)>();
        var run = new List<Member>();
        void Close()
        {
            if (run.Count >= MinRules) plan.Add((run[0].Rule, run));
            else plan.AddRange(run.Select(m => (m.Rule, (List<Member>?)null)));
            run = [];
        }
        for (int r = 0; r < policy.Rules.Count; r++)
        {
            if (members[r] is { } member) run.Add(member);
            else
            {
                Close();
                plan.Add((r, null));
            }
        }
        Close();
        // Only a rule in no run needs it (the runs' own dispatch sends every other syscall on).
        return (plan, plan.Any(p => p.Run is null) ? UnionOf(always) : SyscallSets.All);
    }

    /// <summary>The sets' union, each arch's ranges merged once (10,000 rules' sets unioned one by one were most of a plan's allocation).</summary>
    private static SyscallSets UnionOf(List<IReadOnlyList<ValueRange>[]> sets) =>
        new([.. AuditArch.All.Select((_, a) => SyscallSet.Of(sets.SelectMany(s => s[a])))], SyscallSet.Of(sets.SelectMany(s => s[^1])));

    /// <summary><c>syscall in S</c> alone or as an operand of a top-level <c>&amp;&amp;</c>, and the rest; null for any other condition.</summary>
    private static (BoundSyscallIn, BoundBool)? Split(BoundBool condition)
    {
        switch (condition)
        {
            case BoundSyscallIn s:
                return (s, new BoundBoolConst(true, s.Span));
            case BoundLogical { IsAnd: true } and:
                int at = -1;
                for (int i = 0; i < and.Operands.Count && at < 0; i++)
                    if (and.Operands[i] is BoundSyscallIn) at = i;
                if (at < 0) return null;
                var rest = and.Operands.Where((_, i) => i != at).ToList();
                return ((BoundSyscallIn)and.Operands[at], rest is [var one] ? one : new BoundLogical(true, rest, and.Span));
            default:
                return null;
        }
    }

    /// <summary>
    /// For one arch (<paramref name="arch"/>: its index in AuditArch.All, or -1 for every other arch), the cases
    /// of the dispatch, in order: syscall ranges over which the same members apply and each member's tests
    /// decide alike (<paramref name="decisions"/> of a member at a number; they change only where
    /// <paramref name="cuts"/> of that member say). Ranges no member can hold for are left out. A sweep over
    /// the members' range bounds and cuts.
    /// </summary>
    public static List<Case> Lists(IReadOnlyList<Member> run, int arch, Func<int, IReadOnlyList<ulong>> cuts, Func<int, ulong, ulong> decisions)
    {
        // Change: +1 a range of the member starts, -1 one ends, 0 a cut (the members stay).
        int count = 0;
        for (int m = 0; m < run.Count; m++) count += 2 * run[m].Syscalls[arch >= 0 ? arch : ^1].Count;
        var bounds = new List<(ulong At, int Member, int Change)>(count);
        for (int m = 0; m < run.Count; m++)
        {
            var ranges = run[m].Syscalls[arch >= 0 ? arch : ^1];
            if (ranges.Count == 0) continue;
            for (int i = 0; i < ranges.Count; i++)
            {
                var r = ranges[i];
                // Numbers past a u32 are no record's.
                if (r.Lo > SyscallSet.MaxNumber) continue;
                bounds.Add((r.Lo, m, 1));
                // A range ending at the top ends nowhere.
                if (r.Hi < SyscallSet.MaxNumber) bounds.Add((r.Hi + 1, m, -1));
            }
            foreach (ulong at in cuts(m)) bounds.Add((at, m, 0));
        }
        // Where one range of a member ends and the next begins, the end first.
        bounds.Sort((x, y) => x.At != y.At ? x.At.CompareTo(y.At) : x.Change.CompareTo(y.Change));
        var lists = new List<Case>();
        // The members whose ranges hold here, by index (a member's ranges are disjoint: one at a time).
        var active = new bool[run.Count];
        int activeCount = 0;
        for (int b = 0; b < bounds.Count;)
        {
            ulong at = bounds[b].At;
            for (; b < bounds.Count && bounds[b].At == at; b++)
                if (bounds[b].Change != 0 && active[bounds[b].Member] != bounds[b].Change > 0)
                {
                    active[bounds[b].Member] = bounds[b].Change > 0;
                    activeCount += bounds[b].Change;
                }
            if (activeCount == 0) continue;
            ulong end = b < bounds.Count ? bounds[b].At - 1 : SyscallSet.MaxNumber;
            var members = new int[activeCount];
            for (int m = 0, k = 0; k < activeCount; m++) if (active[m]) members[k++] = m;
            var decided = Array.ConvertAll(members, m => decisions(m, at));
            // Neighbouring ranges with the same members deciding alike are one case.
            if (lists.Count > 0 && lists[^1].Range.Hi == at - 1 && lists[^1].Members.AsSpan().SequenceEqual(members)
                && lists[^1].Decisions.AsSpan().SequenceEqual(decided))
                lists[^1] = lists[^1] with { Range = lists[^1].Range with { Hi = end } };
            else lists.Add(new Case(new ValueRange(at, end), members, decided));
        }
        return lists;
    }
}
