using Filter.Compiler.Binding;

namespace Filter.Compiler.CodeGen;

/// <summary>Code for a run of rules dispatched on the syscall (<see cref="RuleDispatch"/>).</summary>
public sealed partial class CodeGenerator
{
    /// <summary>
    /// The run's code, going on to <paramref name="next"/> when no rule of it holds: per arch (then for every
    /// other arch) a <c>jswitch</c> on the syscall number over the syscalls the run names there, each case the
    /// rules that name it. Returns its entry label.
    /// </summary>
    private int Run(BoundPolicy policy, List<RuleDispatch.Member> run, int[] verdicts, int next)
    {
        // A member's rest before a continuation, emitted once per continuation: lists that go on alike share it.
        var bodies = new Dictionary<(int Member, int Next), int>();
        int Body(int member, int then)
        {
            if (!bodies.TryGetValue((member, then), out int label))
            {
                var rule = policy.Rules[run[member].Rule];
                bodies[(member, then)] = label = Condition(run[member].Rest, verdicts[rule.Verdict], then);
            }
            return label;
        }
        int ForArch(int arch)
        {
            var lists = RuleDispatch.Lists(run, arch);
            if (lists.Count == 0) return next;
            var cases = new int[lists.Count];
            for (int c = 0; c < lists.Count; c++)
            {
                int label = next;
                var members = lists[c].Members;
                for (int m = members.Length - 1; m >= 0; m--) label = Body(members[m], label);
                cases[c] = label;
            }
            var set = new ValueSet(false, lists.Select(l => l.Range));
            _emit.EmitSwitch(0, SetIndex(set, policy.Rules[run[0].Rule].Span), cases, next);
            return _emit.Emit(OpCode.Ldw, 0, imm: RecordLayout.Syscall);
        }
        int entry = ForArch(-1);
        for (int i = AuditArch.All.Count - 1; i >= 0; i--)
            entry = ArchTest(i, ForArch(i), entry);
        return entry;
    }
}
