using Filter.Compiler.Analysis;
using Filter.Compiler.Binding;

namespace Filter.Compiler.CodeGen;

/// <summary>
/// Compiles a bound policy to bytecode. Conditions are compiled with explicit true/false targets, so
/// <c>&amp;&amp;</c>, <c>||</c> and <c>!</c> cost no instructions (they only choose targets) and <c>&lt;</c>,
/// <c>&lt;=</c>, <c>!=</c> are the opposite jumps with swapped targets. Values are computed into registers
/// with Sethi-Ullman numbering, so the register count is the tree's, not its size.
/// <para>Rules are chained in order: each rule's false target is the next rule. Runs of rules that name their
/// syscalls become per-syscall lists behind a <c>jswitch</c> (<see cref="RuleDispatch"/>, CodeGenerator.Runs.cs).
/// A policy of several rules with any other rule starts with a shared dispatch on arch and syscall number
/// (<see cref="Dispatch"/>), after which the rules' own syscall tests are specialised to what it let through.</para>
/// </summary>
public sealed partial class CodeGenerator
{
    private readonly Emitter _emit = new(InstructionSet.MaxInstructions * 4);
    private readonly List<ValueSet> _sets = [];
    private readonly List<byte[]> _strings = [];
    // Each constant once: indices by value, so that a policy of thousands of rules does not search the lists.
    private readonly Dictionary<ValueSet, int> _setIndex = [];
    private readonly Dictionary<string, int> _stringIndex = new(StringComparer.Ordinal);
    private Diagnostic? _error;
    /// <summary>After the dispatch: per arch, a superset of the syscall numbers that reach the rules.</summary>
    private SyscallSets? _known;
    /// <summary>In a case of a run's dispatch: the arch and a syscall number of the case, which decide the rule's arch and syscall tests.</summary>
    private Satisfiability.Env? _env;
    private readonly Satisfiability _sat = new();

    private CodeGenerator() { }

    /// <summary>
    /// Generates the program: verdict k when the k-th <c>always</c> rule is the first rule that holds, 0
    /// when a <c>never</c> rule is, or none. A single-rule filter compiles as it always has (no dispatch).
    /// </summary>
    /// <param name="dispatch">Emit the shared syscall dispatch for policies of two or more rules.</param>
    public static (ProgramImage? Image, Diagnostic? Error) Generate(BoundPolicy policy, bool dispatch = true)
    {
        if (policy.Keys.Count > ProgramLimits.MaxVerdicts)
        {
            var extra = policy.Rules.Where(r => r.Kind == RuleAction.Always).ElementAt(ProgramLimits.MaxVerdicts);
            return (null, new Diagnostic(DiagnosticCode.ProgramTooLong, extra.Span,
                $"the policy has {policy.Keys.Count} always rules; a program has at most {ProgramLimits.MaxVerdicts} verdicts"));
        }
        var gen = new CodeGenerator();
        int noMatch = gen._emit.Emit(OpCode.Ret, imm: 0);
        // Emitted last verdict first so that they run in ascending order, before the final ret #0.
        var verdicts = new int[policy.Keys.Count + 1];
        verdicts[0] = noMatch;
        for (int k = policy.Keys.Count; k >= 1; k--) verdicts[k] = gen._emit.Emit(OpCode.Ret, imm: (ulong)k);

        var (plan, reachable) = dispatch ? RuleDispatch.Plan(policy, gen._sat)
            : ([.. policy.Rules.Select((_, i) => (i, (List<RuleDispatch.Member>?)null))], SyscallSets.All);
        // With every rule in a per-syscall run, the runs' own dispatch already sends every other syscall to ret #0.
        if (dispatch && policy.Rules.Count >= 2 && plan.Any(p => p.Run is null) && !reachable.IsUnconstrained)
            gen._known = reachable;
        int entry = noMatch;
        for (int i = plan.Count - 1; i >= 0; i--)
            entry = plan[i].Run is { } run ? gen.Run(policy, run, verdicts, entry)
                : gen.Condition(policy.Rules[plan[i].Rule].Condition, verdicts[policy.Rules[plan[i].Rule].Verdict], entry);
        // No syscall of any arch can get a non-zero verdict: the program is `ret #0`.
        if (gen._known is { IsEmpty: true }) entry = noMatch;
        else if (gen._known is { } known) entry = gen.Dispatch(known, entry, noMatch);

        var span = policy.Rules.Count == 0 ? default : TextSpan.Cover(policy.Rules[0].Span, policy.Rules[^1].Span);
        if (gen._error is not null) return (null, gen._error);
        var code = gen._emit.Overflowed ? default : gen._emit.Link(entry);
        if (code.IsDefault || code.Length > InstructionSet.MaxInstructions)
            return (null, new Diagnostic(DiagnosticCode.ProgramTooLong, span,
                $"filter compiles to {(code.IsDefault ? "too many" : code.Length.ToString())} instructions; the limit is {InstructionSet.MaxInstructions} (split it or use sets: x in (...))"));
        return (new ProgramImage(code, gen._sets, gen._strings, policy.Keys), null);
    }

    /// <summary>
    /// The shared dispatch: one test per arch of the syscall number against the numbers for which some
    /// <c>always</c> rule's syscall and arch tests allow it to hold there (<see cref="RuleDispatch.Plan"/>); any
    /// other record returns 0 at once. Unconstrained arches go straight to the rules.
    /// </summary>
    private int Dispatch(SyscallSets reachable, int rules, int noMatch)
    {
        int Test(SyscallSet set)
        {
            if (set.IsAll) return rules;
            if (set.IsEmpty) return noMatch;
            return SyscallTest(set.ToValueSet()!, default, rules, noMatch);
        }
        int next = Test(reachable.OtherArch);
        for (int i = AuditArch.All.Count - 1; i >= 0; i--)
            next = ArchTest(i, Test(reachable.PerArch[i]), next);
        return next;
    }

    // Each test loads the field it reads right before it (the arch before each arch's test, the syscall
    // number before each arch's set), rather than once for all: a load and the test after it, with nothing
    // else reading the register, are one step for the interpreter (spec/bytecode.md).
    private int ArchTest(int arch, int whenTrue, int whenFalse)
    {
        _emit.Emit(OpCode.JeqK, 0, imm: AuditArch.All[arch].Value, whenTrue: whenTrue, whenFalse: whenFalse);
        return _emit.Emit(OpCode.Ldw, 0, imm: RecordLayout.Arch);
    }

    /// <summary>Loads the syscall number and tests it against <paramref name="set"/>: one value with jeq, more with jin.</summary>
    private int SyscallTest(ValueSet set, TextSpan span, int t, int f)
    {
        if (set.Ranges is [var only] && only.Lo == only.Hi) _emit.Emit(OpCode.JeqK, 0, imm: only.Lo, whenTrue: t, whenFalse: f);
        else _emit.Emit(OpCode.Jin, 0, imm: SetIndex(set, span), whenTrue: t, whenFalse: f);
        return _emit.Emit(OpCode.Ldw, 0, imm: RecordLayout.Syscall);
    }

    // ------------------------------------------------------------ conditions

    /// <summary>Emits code that jumps to <paramref name="t"/> if the condition holds, else to <paramref name="f"/>; returns its entry label.</summary>
    private int Condition(BoundBool node, int t, int f)
    {
        if (t == f || _error is not null || _emit.Overflowed) return t;
        if (_env is { } env && node is not (BoundBoolConst or BoundNot or BoundLogical or BoundBoolEquals) && _sat.Decide(node, env) is { } known)
            return known ? t : f;
        switch (node)
        {
            case BoundBoolConst c:
                return c.Value ? t : f;
            case BoundNot n:
                return Condition(n.Operand, f, t);
            case BoundLogical l:
            {
                int next = l.IsAnd ? t : f;
                for (int i = l.Operands.Count - 1; i >= 0; i--)
                    next = l.IsAnd ? Condition(l.Operands[i], next, f) : Condition(l.Operands[i], t, next);
                return next;
            }
            case BoundBoolEquals eq:
                return Condition(eq.Left, Condition(eq.Right, t, f), Condition(eq.Right, f, t));
            case BoundBoolField field:
            {
                _emit.Emit(OpCode.JeqK, 0, imm: 0, whenTrue: f, whenFalse: t);
                return _emit.Emit(Load(field.Field), 0, imm: (ulong)field.Field.Offset);
            }
            case BoundCompare cmp:
                return Compare(cmp, t, f);
            case BoundInSet s:
            {
                var value = Values(s.Value);
                int jump = _emit.Emit(OpCode.Jin, 0, imm: SetIndex(s.Set, s.Span), whenTrue: t, whenFalse: f);
                return _emit.EmitSequence(value, jump);
            }
            case BoundSyscallIn sys:
                return SyscallIn(sys, t, f);
            case BoundStringTest str:
            {
                return _emit.Emit(str.Op.Instruction(), (byte)str.Field.DescriptorOffset, imm: StringIndex(str.Value), whenTrue: t, whenFalse: f);
            }
            default:
                throw new InvalidOperationException($"no code generation for {node.GetType().Name}");
        }
    }

    private int Compare(BoundCompare cmp, int t, int f)
    {
        var (op, left, right) = (cmp.Op, cmp.Left, cmp.Right);
        if (left is BoundIntConst && right is not BoundIntConst)
            (op, left, right) = (op.Mirrored(), right, left);

        // (x & m) != 0 and (x & m) == 0 are bit tests.
        if (right is BoundIntConst { Value: 0 } && op is CompareOp.Equal or CompareOp.NotEqual
            && left is BoundBinaryInt { Op: IntBinaryOp.BitAnd } and_)
        {
            var (x, m) = and_.Right is BoundIntConst ? (and_.Left, and_.Right) : (and_.Right, and_.Left);
            bool isConst = m is BoundIntConst;
            var code = Values(x, isConst ? null : m);
            int jset = _emit.Emit(Form(OpCode.JsetK, isConst), 0, isConst ? (byte)0 : (byte)1,
                isConst ? ((BoundIntConst)m).Value : 0,
                whenTrue: op == CompareOp.NotEqual ? t : f, whenFalse: op == CompareOp.NotEqual ? f : t);
            return _emit.EmitSequence(code, jset);
        }

        bool signed = cmp.Signed;
        var (jop, swap) = op switch
        {
            CompareOp.Equal => (Cmp.Eq, false),
            CompareOp.NotEqual => (Cmp.Eq, true),
            CompareOp.Greater => (Cmp.Gt, false),
            CompareOp.GreaterEqual => (Cmp.Ge, false),
            CompareOp.Less => (Cmp.Ge, true),
            _ => (Cmp.Gt, true), // LessEqual
        };
        var (whenTrue, whenFalse) = swap ? (f, t) : (t, f);
        var seq = Values(left, right is BoundIntConst ? null : right);
        int jump = right is BoundIntConst k
            ? _emit.Emit(JumpOp(jop, signed, immediate: true), 0, imm: k.Value, whenTrue: whenTrue, whenFalse: whenFalse)
            : _emit.Emit(JumpOp(jop, signed, immediate: false), 0, 1, whenTrue: whenTrue, whenFalse: whenFalse);
        return _emit.EmitSequence(seq, jump);
    }

    private enum Cmp { Eq, Gt, Ge }

    private static OpCode JumpOp(Cmp c, bool signed, bool immediate) => Form((c, signed) switch
    {
        (Cmp.Eq, _) => OpCode.JeqK,
        (Cmp.Gt, false) => OpCode.JgtK,
        (Cmp.Gt, true) => OpCode.JsgtK,
        (Cmp.Ge, false) => OpCode.JgeK,
        (Cmp.Ge, true) => OpCode.JsgeK,
    }, immediate);

    /// <summary>The K form <paramref name="k"/> itself, or its sibling with register B (instruction table).</summary>
    private static OpCode Form(OpCode k, bool immediate) => immediate ? k : InstructionSet.Get(k).Sibling!.Value;

    /// <summary>
    /// Dispatches on the arch, then tests the syscall number against that arch's set: names were resolved
    /// per arch by the binder.
    /// </summary>
    private int SyscallIn(BoundSyscallIn sys, int t, int f)
    {
        // After the dispatch, only syscalls in `known` get here: a set that holds all of them is true, one
        // that holds none is false, and one may be narrowed to them when that makes it simpler.
        int Test(ValueSet? set, SyscallSet known)
        {
            if (set is null) return f;
            if (!known.IsAll)
            {
                var inter = Narrowed(set, known);
                if (inter.IsEmpty) return f;
                if (known.IsSubsetOf(inter)) return t;
                if (inter.Ranges.Count < set.Ranges.Count) set = inter.ToValueSet()!;
            }
            return SyscallTest(set, sys.Span, t, f);
        }
        var known = _known ?? SyscallSets.All;
        // Decided the same way on every arch that reaches here: no code at all.
        var decisions = known.PerArch.Select((k, i) => (Set: sys.PerArch[i], Known: k)).Append((Set: sys.OtherArch, Known: known.OtherArch))
            .Where(a => !a.Known.IsEmpty).Select(a => Decided(a.Set, a.Known)).Distinct().ToList();
        if (decisions is [] or [false]) return f;
        if (decisions is [true]) return t;
        int next = Test(sys.OtherArch, known.OtherArch);
        for (int i = AuditArch.All.Count - 1; i >= 0; i--)
        {
            int test = Test(sys.PerArch[i], known.PerArch[i]);
            next = ArchTest(i, test, next);
        }
        return next;
    }

    /// <summary>True or false when the test of <paramref name="set"/> is decided for every syscall in <paramref name="known"/>; else null.</summary>
    private bool? Decided(ValueSet? set, SyscallSet known)
    {
        if (set is null) return false;
        if (known.IsAll) return null;
        var inter = Narrowed(set, known);
        return inter.IsEmpty ? false : known.IsSubsetOf(inter) ? true : null;
    }

    /// <summary>
    /// The syscalls of <paramref name="set"/> among <paramref name="known"/>. Memoised: the rules of a policy
    /// share their syscall sets (a permission class, a list) and the dispatch's known sets, and each is asked
    /// twice per arch.
    /// </summary>
    private SyscallSet Narrowed(ValueSet set, SyscallSet known)
    {
        if (!_narrowed.TryGetValue((set, known), out var inter))
            _narrowed[(set, known)] = inter = SyscallSet.Of(set.Ranges).Intersect(known);
        return inter;
    }

    private readonly Dictionary<(ValueSet, SyscallSet), SyscallSet> _narrowed = new(ReferencePairComparer.Instance);

    private sealed class ReferencePairComparer : IEqualityComparer<(ValueSet, SyscallSet)>
    {
        public static readonly ReferencePairComparer Instance = new();
        public bool Equals((ValueSet, SyscallSet) x, (ValueSet, SyscallSet) y) => ReferenceEquals(x.Item1, y.Item1) && ReferenceEquals(x.Item2, y.Item2);
        public int GetHashCode((ValueSet, SyscallSet) k) =>
            HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(k.Item1), System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(k.Item2));
    }

    // ------------------------------------------------------------ values

    /// <summary>
    /// Straight-line code (in execution order) leaving the value of <paramref name="first"/> in register 0 and
    /// that of <paramref name="second"/>, if any, in register 1: the generator's one such list, good until the
    /// next call (each is handed to the emitter at once).
    /// </summary>
    private List<Instruction> Values(BoundInt first, BoundInt? second = null)
    {
        _sequence.Clear();
        Value(first, 0, _sequence);
        if (second is not null) Value(second, 1, _sequence);
        return _sequence;
    }

    private readonly List<Instruction> _sequence = [];

    private void Value(BoundInt node, int reg, List<Instruction> code)
    {
        if (reg >= InstructionSet.RegisterCount)
        {
            _error ??= new Diagnostic(DiagnosticCode.TooManyRegisters, node.Span,
                $"expression needs more than {InstructionSet.RegisterCount} registers; simplify it or split it with parentheses differently");
            return;
        }
        byte r = (byte)reg;
        switch (node)
        {
            case BoundIntConst c:
                code.Add(new Instruction(OpCode.MovK, r, 0, 0, 0, c.Value));
                break;
            case BoundFieldLoad l:
                code.Add(new Instruction(Load(l.Field), r, 0, 0, 0, (ulong)l.Field.Offset));
                break;
            case BoundUnaryInt u:
                Value(u.Operand, reg, code);
                code.Add(new Instruction(u.Op == IntUnaryOp.Negate ? OpCode.Neg : OpCode.Not, r, 0, 0, 0, 0));
                break;
            case BoundBinaryInt b:
            {
                var (left, right) = (b.Left, b.Right);
                bool commutative = b.Op is IntBinaryOp.Add or IntBinaryOp.BitAnd or IntBinaryOp.BitOr or IntBinaryOp.BitXor;
                if (commutative && (left is BoundIntConst || (right is not BoundIntConst && Need(right) > Need(left))))
                    (left, right) = (right, left);
                var k = AluOp(b.Op, b.Signed);
                Value(left, reg, code);
                if (right is BoundIntConst c)
                    code.Add(new Instruction(k, r, 0, 0, 0, c.Value));
                else
                {
                    Value(right, reg + 1, code);
                    code.Add(new Instruction(Form(k, immediate: false), r, (byte)(reg + 1), 0, 0, 0));
                }
                break;
            }
            default:
                throw new InvalidOperationException($"no code generation for {node.GetType().Name}");
        }
    }

    /// <summary>Registers needed to evaluate a value (Sethi-Ullman number).</summary>
    private static int Need(BoundInt node)
    {
        switch (node)
        {
            case BoundUnaryInt u: return Need(u.Operand);
            case BoundBinaryInt { Right: BoundIntConst } b: return Need(b.Left);
            case BoundBinaryInt b:
                // Each child once: evaluating them twice per level made this exponential in the depth.
                int left = Need(b.Left), right = Need(b.Right);
                return left == right ? left + 1 : Math.Max(left, right + 1);
            default: return 1;
        }
    }

    /// <summary>The K form of a binary operator's instruction.</summary>
    private static OpCode AluOp(IntBinaryOp op, bool signed) => op switch
    {
        IntBinaryOp.Add => OpCode.AddK,
        IntBinaryOp.Subtract => OpCode.SubK,
        IntBinaryOp.BitAnd => OpCode.AndK,
        IntBinaryOp.BitOr => OpCode.OrK,
        IntBinaryOp.BitXor => OpCode.XorK,
        IntBinaryOp.ShiftLeft => OpCode.LshK,
        IntBinaryOp.ShiftRight => signed ? OpCode.ArshK : OpCode.RshK,
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    /// <summary>The load whose size is the field's (instruction table).</summary>
    private static OpCode Load(ScalarField field) => Loads[field.Size];

    // One load per size, or the table is wrong (ToDictionary throws on a second one).
    private static readonly Dictionary<int, OpCode> Loads =
        InstructionSet.All.Where(o => o.Imm == Operand.Field).ToDictionary(o => o.LoadSize, o => o.Code);

    private ulong SetIndex(ValueSet set, TextSpan span)
    {
        if (set.Ranges.Count > ProgramLimits.MaxRangesPerSet)
            _error ??= new Diagnostic(DiagnosticCode.SetTooLarge, span,
                $"a set has {set.Ranges.Count} separate values or ranges; the limit is {ProgramLimits.MaxRangesPerSet}");
        if (!_setIndex.TryGetValue(set, out int i))
        {
            _setIndex.Add(set, i = _sets.Count);
            _sets.Add(set);
        }
        return (ulong)i;
    }

    private ulong StringIndex(byte[] value)
    {
        var key = Convert.ToBase64String(value);
        if (!_stringIndex.TryGetValue(key, out int i))
        {
            _stringIndex.Add(key, i = _strings.Count);
            _strings.Add(value);
        }
        return (ulong)i;
    }
}
