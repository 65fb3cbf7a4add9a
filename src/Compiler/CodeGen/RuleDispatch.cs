using Filter.Compiler.Binding;

namespace Filter.Compiler.CodeGen;

/// <summary>
/// Per-syscall rule lists, as the kernel keeps its audit rules (spec/language.md, "How a policy runs"): a run
/// of consecutive rules that each name their syscalls (<c>syscall in S &amp;&amp; rest</c>) compiles to a dispatch
/// on the arch and a <c>jswitch</c> on the syscall number, whose case for a syscall runs only the run's rules that
/// name it, in the policy's order, and then goes on after the run; a syscall no rule of the run names goes on
/// at once. A rule that names no syscall (or tests it in a way not of that form) stays where it is, between
/// runs, so that the first rule that holds still decides for every record. A rule naming k syscalls is in
/// k lists; the code of a rule's rest is shared where lists continue alike (across arches, for example).
/// </summary>
internal static class RuleDispatch
{
    /// <summary>Fewer rules than this in a run are tested one after the other: a dispatch costs about what they do.</summary>
    public const int MinRules = 4;

    /// <summary>A rule of a run: its index in the policy, its syscalls and what else it requires.</summary>
    public sealed record Member(int Rule, BoundSyscallIn Syscalls, BoundBool Rest);

    /// <summary>The policy as rules tested in order (a null run: the rule alone) and runs dispatched on the syscall, in order.</summary>
    public static List<(int Rule, List<Member>? Run)> Plan(BoundPolicy policy)
    {
        var plan = new List<(int, List<Member>?)>();
        var run = new List<Member>();
        void Close()
        {
            if (run.Count >= MinRules) plan.Add((run[0].Rule, run));
            else plan.AddRange(run.Select(m => (m.Rule, (List<Member>?)null)));
            run = [];
        }
        for (int r = 0; r < policy.Rules.Count; r++)
        {
            if (Split(policy.Rules[r].Condition) is var (syscalls, rest)) run.Add(new Member(r, syscalls, rest));
            else
            {
                Close();
                plan.Add((r, null));
            }
        }
        Close();
        return plan;
    }

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
    /// For one arch (<paramref name="arch"/>: its index in AuditArch.All, or -1 for every other arch), the syscall
    /// ranges over which the same members apply, in order, and those members (by index into the run): ranges
    /// no member names are left out. A sweep over the members' range bounds.
    /// </summary>
    public static List<(ValueRange Range, int[] Members)> Lists(IReadOnlyList<Member> run, int arch)
    {
        var bounds = new List<(ulong At, int Member, bool Starts)>();
        for (int m = 0; m < run.Count; m++)
        {
            var set = arch >= 0 ? run[m].Syscalls.PerArch[arch] : run[m].Syscalls.OtherArch;
            if (set is null) continue;
            foreach (var r in set.Ranges)
            {
                bounds.Add((r.Lo, m, true));
                // A range ending at the top ends nowhere.
                if (r.Hi != ulong.MaxValue) bounds.Add((r.Hi + 1, m, false));
            }
        }
        // Where one range of a member ends and the next begins, the end first.
        bounds.Sort((x, y) => x.At != y.At ? x.At.CompareTo(y.At) : x.Starts.CompareTo(y.Starts));
        var lists = new List<(ValueRange, int[])>();
        var active = new SortedSet<int>();
        for (int b = 0; b < bounds.Count;)
        {
            ulong at = bounds[b].At;
            for (; b < bounds.Count && bounds[b].At == at; b++)
                if (bounds[b].Starts) active.Add(bounds[b].Member); else active.Remove(bounds[b].Member);
            if (active.Count == 0) continue;
            ulong end = b < bounds.Count ? bounds[b].At - 1 : ulong.MaxValue;
            var members = active.ToArray();
            // Neighbouring ranges with the same members are one case.
            if (lists.Count > 0 && lists[^1].Item1.Hi == at - 1 && lists[^1].Item2.AsSpan().SequenceEqual(members))
                lists[^1] = (lists[^1].Item1 with { Hi = end }, lists[^1].Item2);
            else lists.Add((new ValueRange(at, end), members));
        }
        return lists;
    }
}
