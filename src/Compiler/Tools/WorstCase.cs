using System.Text;
using Filter.Compiler.Analysis;

namespace Filter.Compiler.Tools;

/// <summary>
/// The most instructions a program executes on one record. <paramref name="Instructions"/> is the longest
/// path through the loop-free code (what the verifier proves: no run executes more).
/// <paramref name="PerVerdict"/>[k] is the longest path ending in a <c>ret #k</c> (0 when no <c>ret #k</c> is
/// reachable). <paramref name="Longest"/> is the most instructions executed on a record the search found
/// (<paramref name="LongestRecord"/>; 0 and null when it found none); when it equals
/// <paramref name="Instructions"/>, the bound is attained. <paramref name="LongestIsExact"/>: the search
/// proved that no record executes more than <paramref name="Longest"/> (every longer path is infeasible).
/// </summary>
public sealed record WorstCase(int Instructions, IReadOnlyList<int> PerVerdict, int Longest, byte[]? LongestRecord, bool LongestIsExact)
{
    /// <summary>A record that executes <see cref="Instructions"/>, or null when none was found.</summary>
    public byte[]? Witness => Longest == Instructions ? LongestRecord : null;
}

/// <summary>
/// Longest paths through a program's control-flow graph, and a search for the longest path some record
/// takes. The search walks paths longest first (branch and bound: a path that cannot beat the best found
/// is not followed), collecting per-field constraints from each branch (a register holding a field, compared
/// with a constant); a branch it cannot reason about (a computed value, two fields) ends that path, so a
/// record it returns follows its path by construction. It stops after a fixed budget.
/// </summary>
public static class WorstCaseAnalysis
{
    /// <summary>Branches explored before the search gives up (the bound stays proven; only the witness is missing).</summary>
    public const int SearchBudget = 20_000;

    public static WorstCase Analyze(ProgramImage image)
    {
        var code = image.Code;
        int n = code.Count;
        // Forward: the longest path from the entry to each pc (counting pc itself); 0 = unreachable.
        var to = new int[n];
        to[0] = 1;
        for (int pc = 0; pc < n; pc++)
        {
            if (to[pc] == 0) continue;
            foreach (int s in Successors(image, code[pc], pc))
                to[s] = Math.Max(to[s], to[pc] + 1);
        }
        var perVerdict = new int[image.Keys.Count + 1];
        for (int pc = 0; pc < n; pc++)
            if (code[pc].Op == OpCode.Ret && to[pc] > 0 && code[pc].Imm < (ulong)perVerdict.Length)
                perVerdict[code[pc].Imm] = Math.Max(perVerdict[code[pc].Imm], to[pc]);
        // Backward: the longest path from each pc to a return.
        var from = new int[n];
        for (int pc = n - 1; pc >= 0; pc--)
            from[pc] = 1 + Successors(image, code[pc], pc).Select(s => from[s]).DefaultIfEmpty(0).Max();
        var search = new Search(image, from);
        search.Run();
        return new WorstCase(from[0], perVerdict, search.Best, search.BestRecord, search.Exhaustive && search.BestRecord is not null);
    }

    private static IEnumerable<int> Successors(ProgramImage image, Instruction i, int pc)
    {
        switch (InstructionSet.Get(i.Op).Jump)
        {
            case JumpKind.Return: yield break;
            case JumpKind.Switch:
                for (int c = 0; c < image.Sets[(int)i.Imm].Ranges.Count; c++) yield return i.TrueTarget(pc) + c;
                yield return i.FalseTarget(pc);
                break;
            case JumpKind.Always: yield return i.TrueTarget(pc); break;
            case JumpKind.Conditional:
                yield return i.TrueTarget(pc);
                if (i.FalseTarget(pc) != i.TrueTarget(pc)) yield return i.FalseTarget(pc);
                break;
            default: yield return pc + 1; break;
        }
    }

    // ---------------------------------------------------------------- the witness search

    /// <summary>What a register holds on the path: a constant, a field's value, or something else.</summary>
    private readonly record struct Reg(ScalarField? Field, ulong? Constant);

    /// <summary>Per-field constraints: allowed values (unsigned ranges), bits that must all be clear, masks each needing a set bit.</summary>
    private sealed record FieldConstraint(ValueRange[] Allowed, ulong Clear, ulong[] AnyOf);

    private sealed class State
    {
        public Reg[] Regs = new Reg[InstructionSet.RegisterCount];
        public Dictionary<ScalarField, FieldConstraint> Fields = [];
        public Dictionary<StringField, List<(bool Equal, byte[] Value, bool Positive)>> Strings = [];

        public State Clone() => new()
        {
            Regs = (Reg[])Regs.Clone(),
            Fields = new(Fields),
            Strings = Strings.ToDictionary(kv => kv.Key, kv => kv.Value.ToList()),
        };
    }

    private enum Feasibility { Feasible, Infeasible, Unknown }

    private sealed class Search(ProgramImage image, int[] from)
    {
        private int _budget = SearchBudget;

        /// <summary>The longest path a record was found for (instructions), and that record.</summary>
        public int Best { get; private set; }
        public byte[]? BestRecord { get; private set; }
        /// <summary>No path was cut short for want of budget or reasoning: <see cref="Best"/> is the true maximum.</summary>
        public bool Exhaustive { get; private set; } = true;

        public void Run() => Walk(0, new State(), 0);

        private void Walk(int pc, State state, int executed)
        {
            var code = image.Code;
            while (true)
            {
                if (--_budget < 0) { Exhaustive = false; return; }
                var i = code[pc];
                executed++;
                switch (InstructionSet.Get(i.Op).Jump)
                {
                    case JumpKind.Return:
                        if (executed > Best) (Best, BestRecord) = (executed, Build(state));
                        return;
                    case JumpKind.Always:
                        pc = i.TrueTarget(pc);
                        continue;
                    case JumpKind.None:
                        Step(i, state);
                        pc++;
                        continue;
                    case JumpKind.Switch:
                        WalkSwitch(pc, i, state, executed);
                        return;
                }
                // A conditional jump: the longer continuation first; neither if it cannot beat the best found.
                int t = i.TrueTarget(pc), f = i.FalseTarget(pc);
                var outcomes = from[t] >= from[f] ? ((int, bool)[])[(t, true), (f, false)] : [(f, false), (t, true)];
                foreach (var (target, outcome) in outcomes)
                {
                    if (executed + from[target] <= Best || Best == from[0]) continue;
                    var next = state.Clone();
                    var feasible = Constrain(i, outcome, next);
                    if (feasible == Feasibility.Unknown) Exhaustive = false;
                    if (feasible != Feasibility.Feasible) continue;
                    Walk(target, next, executed);
                    if (_budget < 0) return;
                }
                return;
            }
        }

        /// <summary>A jswitch: each case (its range of values) and the default (none of them), longer continuations first.</summary>
        private void WalkSwitch(int pc, Instruction i, State state, int executed)
        {
            var set = image.Sets[(int)i.Imm];
            var outcomes = Enumerable.Range(0, set.Ranges.Count)
                .Select(c => (Target: i.TrueTarget(pc) + c, Allowed: RangeList.FromSet(new ValueSet(set.Signed, [set.Ranges[c]]))))
                .Append((Target: i.FalseTarget(pc), Allowed: RangeList.Complement(RangeList.FromSet(set), 0, ulong.MaxValue)))
                .OrderByDescending(o => from[o.Target]);
            foreach (var (target, allowed) in outcomes)
            {
                if (executed + from[target] <= Best || Best == from[0]) continue;
                var next = state.Clone();
                var feasible = ConstrainTo(next, i.A, allowed);
                if (feasible == Feasibility.Unknown) Exhaustive = false;
                if (feasible != Feasibility.Feasible) continue;
                Walk(target, next, executed);
                if (_budget < 0) return;
            }
        }

        /// <summary>Adds the constraint that register <paramref name="register"/> holds one of <paramref name="allowed"/>.</summary>
        private static Feasibility ConstrainTo(State s, byte register, ValueRange[] allowed)
        {
            var a = s.Regs[register];
            if (a.Constant is { } k) return RangeList.Contains(allowed, k) ? Feasibility.Feasible : Feasibility.Infeasible;
            if (a.Field is not { } f) return Feasibility.Unknown;
            var c = s.Fields.TryGetValue(f, out var known) ? known : new FieldConstraint(FieldRange(f), 0, []);
            c = c with { Allowed = RangeList.Intersect(c.Allowed, allowed) };
            s.Fields[f] = c;
            return c.Allowed.Length == 0 ? Feasibility.Infeasible : SolveScalar(c) is not null ? Feasibility.Feasible : Feasibility.Unknown;
        }

        private static void Step(Instruction i, State s)
        {
            var info = InstructionSet.Get(i.Op);
            if (info.Imm == Operand.Field) { s.Regs[i.A] = new Reg(RecordLayout.ScalarAt((long)i.Imm), null); return; }
            if (i.Op == OpCode.MovK) { s.Regs[i.A] = new Reg(null, i.Imm); return; }
            if (i.Op == OpCode.MovX) { s.Regs[i.A] = s.Regs[i.B]; return; }
            // Arithmetic: the search does not follow computed values.
            if (info.A is Operand.RegWrite or Operand.RegReadWrite) s.Regs[i.A] = default;
        }

        /// <summary>
        /// Adds the constraint that the branch has <paramref name="outcome"/>. Infeasible only when proven (an
        /// empty range of values, a constant test); Unknown when beyond the search (computed values, bit
        /// or string constraints its simple solver cannot meet).
        /// </summary>
        private Feasibility Constrain(Instruction i, bool outcome, State s)
        {
            // Suffix and substring constraints are beyond its simple solver.
            if (i.Op is OpCode.JstrSuffix or OpCode.JstrContains) return Feasibility.Unknown;
            if (i.Op is OpCode.JstrEq or OpCode.JstrPrefix)
            {
                var field = RecordLayout.StringAt(i.A)!;
                if (!s.Strings.TryGetValue(field, out var list)) s.Strings[field] = list = [];
                list.Add((i.Op == OpCode.JstrEq, image.Strings[(int)i.Imm].ToArray(), outcome));
                return SolveString(field, list) is not null ? Feasibility.Feasible : Feasibility.Unknown;
            }
            var a = s.Regs[i.A];
            var info = InstructionSet.Get(i.Op);
            ulong k;
            if (info.B == Operand.RegRead)
            {
                var b = s.Regs[i.B];
                if (b.Constant is not { } bk) return Feasibility.Unknown;
                k = bk;
            }
            else k = i.Imm;
            if (a.Constant is { } ak)
                return i.Op == OpCode.Jin ? Feasibility.Unknown : Semantics.Compare(i.Op, ak, k) == outcome ? Feasibility.Feasible : Feasibility.Infeasible;
            if (a.Field is not { } f) return Feasibility.Unknown;
            var c = s.Fields.TryGetValue(f, out var known) ? known : new FieldConstraint(FieldRange(f), 0, []);
            switch (i.Op)
            {
                case OpCode.JsetK or OpCode.JsetX:
                    c = outcome ? c with { AnyOf = [.. c.AnyOf, k] } : c with { Clear = c.Clear | k };
                    break;
                default:
                    var allowed = i.Op == OpCode.Jin ? RangeList.FromSet(image.Sets[(int)k]) : Interval(i.Op, k);
                    if (!outcome) allowed = RangeList.Complement(allowed, 0, ulong.MaxValue);
                    c = c with { Allowed = RangeList.Intersect(c.Allowed, allowed) };
                    break;
            }
            s.Fields[f] = c;
            return c.Allowed.Length == 0 ? Feasibility.Infeasible : SolveScalar(c) is not null ? Feasibility.Feasible : Feasibility.Unknown;
        }

        private byte[]? Build(State s)
        {
            var builder = new RecordBuilder();
            foreach (var (field, c) in s.Fields) builder.SetScalar(field, SolveScalar(c)!.Value);
            foreach (var (field, literals) in s.Strings) builder.SetString(field, SolveString(field, literals)!);
            return builder.ToArray();
        }
    }

    private static ValueRange[] FieldRange(ScalarField f) => f.Kind switch
    {
        FieldKind.U8 => [new ValueRange(0, byte.MaxValue)],
        FieldKind.U32 => [new ValueRange(0, uint.MaxValue)],
        _ => [new ValueRange(0, ulong.MaxValue)],
    };

    /// <summary>The values (unsigned ranges) for which the comparison with <paramref name="k"/> holds.</summary>
    private static ValueRange[] Interval(OpCode op, ulong k)
    {
        const ulong sign = ValueSet.SignBit;
        return op switch
        {
            OpCode.JeqK or OpCode.JeqX => [new ValueRange(k, k)],
            OpCode.JgtK or OpCode.JgtX => k == ulong.MaxValue ? [] : [new ValueRange(k + 1, ulong.MaxValue)],
            OpCode.JgeK or OpCode.JgeX => [new ValueRange(k, ulong.MaxValue)],
            // Signed: work in order keys (sign bit flipped), where the order is unsigned.
            OpCode.JsgtK or OpCode.JsgtX => (k ^ sign) == ulong.MaxValue ? []
                : RangeList.Normalize(RangeList.FromOrdered(k + 1, long.MaxValue, signed: true)),
            _ => RangeList.Normalize(RangeList.FromOrdered(k, long.MaxValue, signed: true)),
        };
    }

    /// <summary>A value meeting the constraint, or null when none is found (none exists, or the simple search missed it).</summary>
    private static ulong? SolveScalar(FieldConstraint c)
    {
        ulong required = 0;
        foreach (ulong mask in c.AnyOf)
        {
            ulong usable = mask & ~c.Clear;
            if (usable == 0) return null;
            required |= usable & (0 - usable);
        }
        foreach (var r in c.Allowed.Take(64))
            foreach (ulong v in (ReadOnlySpan<ulong>)[r.Lo, r.Hi, (r.Lo | required) & ~c.Clear, (r.Hi & ~c.Clear) | required, required])
                if (v >= r.Lo && v <= r.Hi && (v & c.Clear) == 0 && c.AnyOf.All(m => (v & m) != 0)) return v;
        return null;
    }

    private static byte[]? SolveString(StringField field, List<(bool Equal, byte[] Value, bool Positive)> literals)
    {
        bool Ok(byte[] s) => s.Length <= field.MaxLength && literals.All(l =>
            (l.Equal ? s.AsSpan().SequenceEqual(l.Value) : s.AsSpan().StartsWith(l.Value)) == l.Positive);
        var candidates = literals.Where(l => l.Positive).Select(l => l.Value).OrderByDescending(v => v.Length).Take(1)
            .DefaultIfEmpty([]).SelectMany(p => ((string[])["", "a", "b", "x", "ab", "zz"]).Select(suffix => (byte[])[.. p, .. Encoding.ASCII.GetBytes(suffix)]));
        return candidates.FirstOrDefault(Ok);
    }
}
