using Filter.Compiler.Analysis;
using Filter.Compiler.Binding;

namespace Filter.Compiler.CodeGen;

/// <summary>Code for a run of rules dispatched on the syscall (<see cref="RuleDispatch"/>).</summary>
public sealed partial class CodeGenerator
{
    /// <summary>Most arch and syscall tests of a rule decided per case (two bits each in a ulong); a rule with more keeps them all.</summary>
    private const int MaxDecidedLeaves = 32;

    /// <summary>
    /// The run's code, going on to <paramref name="next"/> when no rule of it holds: per arch (then for every
    /// other arch) a <c>jswitch</c> on the syscall number over the syscalls the run's rules can hold for, each
    /// case the rules that can hold for it, their arch and syscall tests decided for it. Returns its entry label.
    /// </summary>
    private int Run(BoundPolicy policy, List<RuleDispatch.Member> run, int[] verdicts, int next)
    {
        var leaves = run.Select(m => _sat.ArchAndSyscallLeaves(m.Rest, MaxDecidedLeaves)).ToArray();
        var tests = new List<IReadOnlyList<ValueRange>>();
        // A member's rest, decided as in a case, before a continuation, emitted once each: lists that go on
        // alike share it.
        var bodies = new Dictionary<(int Member, ulong Decisions, int Next), int>();
        int Body(int member, ulong decisions, Satisfiability.Env env, int then)
        {
            if (!bodies.TryGetValue((member, decisions, then), out int label))
            {
                var rule = policy.Rules[run[member].Rule];
                _env = leaves[member] is null ? null : env;
                bodies[(member, decisions, then)] = label = Condition(run[member].Rest, verdicts[rule.Verdict], then);
                _env = null;
            }
            return label;
        }
        int ForArch(int arch)
        {
            IReadOnlyList<ulong> Cuts(int member)
            {
                if (leaves[member] is not { Count: > 0 }) return [];
                tests.Clear();
                return _sat.Breakpoints(run[member].Rest, new Satisfiability.Env(arch, 0), tests);
            }
            // Two bits per leaf: 0 undecided, 1 false, 2 true.
            ulong Decisions(int member, ulong syscall)
            {
                if (leaves[member] is not { } decidable) return 0;
                ulong bits = 0;
                for (int l = 0; l < decidable.Count; l++)
                    if (_sat.Decide(decidable[l], new Satisfiability.Env(arch, syscall)) is { } value) bits |= (value ? 2UL : 1UL) << (2 * l);
                return bits;
            }
            var lists = RuleDispatch.Lists(run, arch, Cuts, Decisions);
            if (lists.Count == 0) return next;
            var cases = new int[lists.Count];
            for (int c = 0; c < lists.Count; c++)
            {
                int label = next;
                var (range, members, decided) = lists[c];
                var env = new Satisfiability.Env(arch, range.Lo);
                for (int m = members.Length - 1; m >= 0; m--) label = Body(members[m], decided[m], env, label);
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
