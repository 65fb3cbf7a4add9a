using Filter.Compiler.Binding;

namespace Filter.Compiler.Analysis;

/// <summary>
/// Decides whether a condition can hold for some record with a given arch and syscall number, by simple
/// means: atoms that test only <c>syscall</c> or a known <c>arch</c> are constants; the rest becomes a
/// disjunction of conjunctions (at most <see cref="MaxCubes"/>, of at most <see cref="MaxLiterals"/>) of per-field constraints, each field
/// solved alone (ranges of values, required and forbidden bits, string equalities and prefixes).
/// <para>"Unsatisfiable" is claimed only when proven (empty range, contradicting strings, ...), so the
/// analysis is sound. Anything it cannot reason about (comparisons between fields, arithmetic, a
/// disjunction with too many cases) counts as satisfiable: the sets it reports may then be too big,
/// never too small. A "satisfiable" answer with a witness is exact: the witness is checked with the
/// reference evaluator.</para>
/// </summary>
internal sealed class Satisfiability
{
    public const int MaxCubes = 256;

    /// <summary>
    /// Most literals in one conjunction. Each operand of a long <c>&amp;&amp;</c> (30,000 <c>never</c> rules
    /// before an <c>always</c> one) copies the conjunction so far: without a bound the cost is quadratic in the
    /// text. Past it the condition is beyond the analysis (satisfiable, as any it cannot decide).
    /// </summary>
    public const int MaxLiterals = 1024;

    /// <summary>The record's arch: index into <see cref="AuditArch.All"/>, or -1 for any other arch value.</summary>
    public readonly record struct Env(int ArchIndex, ulong Syscall)
    {
        public uint ArchValue => AuditArch.All[ArchIndex].Value;
    }

    public enum Outcome { Unsatisfiable, Satisfiable, Unknown }

    // ---- atoms: the leaves of a condition, classified once ----

    private abstract record Atom;
    /// <summary>The field's (zero-extended) value is in <paramref name="Allowed"/> (unsigned ranges).</summary>
    private sealed record FieldAtom(ScalarField Field, ValueRange[] Allowed) : Atom;
    /// <summary><c>(field &amp; Mask) != 0</c>.</summary>
    private sealed record BitsAtom(ScalarField Field, ulong Mask) : Atom;
    private sealed record StringAtom(StringField Field, StringTestOp Op, byte[] Value) : Atom;
    /// <summary>Membership of the syscall number in a per-arch set.</summary>
    private sealed record SyscallInAtom(BoundSyscallIn Node) : Atom;
    /// <summary>Anything else: assumed satisfiable either way.</summary>
    private sealed record OpaqueAtom(BoundBool Node) : Atom;

    private readonly record struct Literal(Atom Atom, bool Positive);

    private static readonly ScalarField SyscallField = RecordLayout.ScalarNamed("syscall")!;
    private static readonly ScalarField ArchField = RecordLayout.ScalarNamed("arch")!;

    private readonly Dictionary<BoundBool, (Atom Atom, bool Invert)> _atoms = new(ReferenceEqualityComparer.Instance);
    /// <summary>Per leaf, its one-literal cube list when it does not hold and when it does (shared: cube lists are never changed).</summary>
    private readonly Dictionary<BoundBool, List<List<Literal>>?[]> _leafCubes = new(ReferenceEqualityComparer.Instance);

    // ---------------------------------------------------------------- syscall breakpoints

    /// <summary>
    /// Syscall numbers where some atom's truth may change for this arch: each tested range contributes its
    /// start and the number after its end. Between two breakpoints every syscall atom is constant.
    /// <paramref name="tests"/> gets the ranges each syscall atom holds on (one entry per atom): with the
    /// arch fixed, the atoms that hold at a number are all that <see cref="Solve(BoundBool, bool, Env)"/>
    /// learns from it.
    /// </summary>
    public List<ulong> Breakpoints(BoundBool node, Env env, List<IReadOnlyList<ValueRange>> tests)
    {
        var points = new List<ulong>();
        foreach (var (_, atom) in ArchOrSyscallAtoms(node))
        {
            IReadOnlyList<ValueRange>? ranges = atom switch
            {
                FieldAtom f when f.Field == SyscallField => f.Allowed,
                SyscallInAtom s => SyscallSetFor(s.Node, env),
                _ => null,
            };
            if (ranges is null) continue;
            tests.Add(ranges);
            for (int i = 0; i < ranges.Count; i++)
            {
                var r = ranges[i];
                points.Add(r.Lo);
                if (r.Hi < SyscallSet.MaxNumber) points.Add(r.Hi + 1);
            }
        }
        // Sorted, each once, without 0 (where the first interval starts anyway).
        points.Sort();
        int kept = 0;
        for (int i = 0; i < points.Count; i++)
            if (points[i] != 0 && (kept == 0 || points[kept - 1] != points[i])) points[kept++] = points[i];
        points.RemoveRange(kept, points.Count - kept);
        return points;
    }

    /// <summary>
    /// The leaves of <paramref name="node"/> (each once, in no particular order) that <see cref="Decide"/>
    /// can decide: tests of the syscall number and of the arch. Null when there are more than
    /// <paramref name="max"/>.
    /// </summary>
    public IReadOnlyList<BoundBool>? ArchAndSyscallLeaves(BoundBool node, int max)
    {
        // Most rules' rests (after `syscall in S`) have none: nothing is allocated for them.
        List<BoundBool>? leaves = null;
        foreach (var (leaf, _) in ArchOrSyscallAtoms(node))
        {
            if (leaves?.Count == max) return null;
            (leaves ??= []).Add(leaf);
        }
        return leaves ?? (IReadOnlyList<BoundBool>)[];
    }

    /// <summary>
    /// The leaves of <paramref name="node"/>, each once, whose atom is a syscall set or a comparison (or set)
    /// of the syscall number or the arch with constants: a list of this instance's, valid until the next call.
    /// </summary>
    private List<(BoundBool Leaf, Atom Atom)> ArchOrSyscallAtoms(BoundBool node)
    {
        var found = _found;
        found.Clear();
        _walked.Clear();
        _walk.Clear();
        _walk.Push(node);
        while (_walk.Count > 0)
        {
            var n = _walk.Pop();
            if (!_walked.Add(n)) continue;
            switch (n)
            {
                case BoundNot not: _walk.Push(not.Operand); continue;
                case BoundLogical l: for (int i = 0; i < l.Operands.Count; i++) _walk.Push(l.Operands[i]); continue;
                case BoundBoolEquals e: _walk.Push(e.Left); _walk.Push(e.Right); continue;
                case BoundBoolConst: continue;
            }
            if (!MayTestArchOrSyscall(n)) continue;
            var atom = Classify(n).Atom;
            if (atom is SyscallInAtom || (atom is FieldAtom a && (a.Field == SyscallField || a.Field == ArchField))) found.Add((n, atom));
        }
        return found;
    }

    private readonly List<(BoundBool Leaf, Atom Atom)> _found = [];
    private readonly HashSet<BoundBool> _walked = new(ReferenceEqualityComparer.Instance);
    private readonly Stack<BoundBool> _walk = new();

    /// <summary>
    /// The value of <paramref name="leaf"/> (a condition that is no <c>&amp;&amp;</c>, <c>||</c>, <c>!</c> or
    /// constant) for every record with the arch and syscall number of <paramref name="env"/>, when it tests
    /// only those (a syscall set or comparison; an arch comparison, the arch known); null when it depends
    /// on other fields. Between two of a condition's <see cref="Breakpoints"/>, the same for each number.
    /// </summary>
    public bool? Decide(BoundBool leaf, Env env)
    {
        var (atom, invert) = Classify(leaf);
        return Constant(atom, env) is { } value ? value != invert : null;
    }

    /// <summary>
    /// The syscall numbers of arch <paramref name="arch"/> (its index, or -1 for any other) for which
    /// <paramref name="leaf"/> holds, when it tests only the syscall number, or the arch with one given;
    /// null when it depends on another field.
    /// </summary>
    public SyscallSet? HoldsFor(BoundBool leaf, int arch)
    {
        if (!MayTestArchOrSyscall(leaf)) return null;
        var (atom, invert) = Classify(leaf);
        var holds = atom switch
        {
            FieldAtom f when f.Field == SyscallField => SyscallSetOf(f.Allowed),
            FieldAtom f when f.Field == ArchField && arch >= 0 => RangeList.Contains(f.Allowed, AuditArch.All[arch].Value) ? SyscallSet.All : SyscallSet.Empty,
            SyscallInAtom s => SyscallSetOf(SyscallSetFor(s.Node, new Env(arch, 0))),
            _ => null,
        };
        return invert ? holds?.Complement() : holds;
    }

    // Rules share their syscall sets (a permission class): each is converted once.
    private SyscallSet SyscallSetOf(IReadOnlyList<ValueRange> ranges)
    {
        if (!_syscallSets.TryGetValue(ranges, out var set)) _syscallSets.Add(ranges, set = SyscallSet.Of(ranges));
        return set;
    }

    private readonly Dictionary<IReadOnlyList<ValueRange>, SyscallSet> _syscallSets = new(ReferenceEqualityComparer.Instance);

    /// <summary>
    /// False for a leaf that is surely no test of the syscall number or the arch alone (no syscall set, no
    /// comparison or set with a load of either as an operand): such leaves, most of a rule's, need no atom.
    /// </summary>
    private static bool MayTestArchOrSyscall(BoundBool leaf)
    {
        static bool ArchOrSyscall(BoundInt v) => v is BoundFieldLoad { Field: var f } && (f == SyscallField || f == ArchField);
        return leaf switch
        {
            BoundSyscallIn => true,
            BoundCompare c => ArchOrSyscall(c.Left) || ArchOrSyscall(c.Right),
            BoundInSet s => ArchOrSyscall(s.Value),
            _ => false,
        };
    }

    /// <summary>An atom's value when it tests only the syscall number or a known arch; null otherwise.</summary>
    private static bool? Constant(Atom atom, Env env) => atom switch
    {
        FieldAtom f when f.Field == SyscallField => RangeList.Contains(f.Allowed, env.Syscall),
        FieldAtom f when f.Field == ArchField && env.ArchIndex >= 0 => RangeList.Contains(f.Allowed, env.ArchValue),
        SyscallInAtom s => RangeList.Contains(SyscallSetFor(s.Node, env), env.Syscall),
        _ => null,
    };

    private static IReadOnlyList<ValueRange> SyscallSetFor(BoundSyscallIn s, Env env)
    {
        var set = env.ArchIndex >= 0 ? s.PerArch[env.ArchIndex] : s.OtherArch;
        return set is null ? RangeList.Empty : set.Ranges;
    }

    // ---------------------------------------------------------------- solving

    /// <summary>Whether <paramref name="node"/> can equal <paramref name="positive"/> for a record of this arch and syscall.</summary>
    public Outcome Solve(BoundBool node, bool positive, Env env) => Solve(node, positive, env, out _, buildWitness: false);

    /// <summary>As <see cref="Solve(BoundBool, bool, Env)"/>; on <see cref="Outcome.Satisfiable"/>, a record (checked by the reference evaluator).</summary>
    public Outcome Solve(BoundBool node, bool positive, Env env, out byte[]? witness, bool buildWitness)
    {
        witness = null;
        var cubes = Cubes(node, positive, env);
        if (cubes is null) return Outcome.Unknown;
        var outcome = Outcome.Unsatisfiable;
        foreach (var cube in cubes)
        {
            var result = SolveCube(cube, env, buildWitness ? node : null, positive, out witness);
            if (result == Outcome.Satisfiable) return result;
            if (result == Outcome.Unknown)
            {
                // Without a witness to build, "maybe" is as good as "yes": the caller includes the syscall either way.
                if (!buildWitness) return Outcome.Unknown;
                outcome = Outcome.Unknown;
            }
        }
        return outcome;
    }

    /// <summary>The condition as a disjunction of conjunctions of literals; null if that takes more than <see cref="MaxCubes"/>.</summary>
    private List<List<Literal>>? Cubes(BoundBool node, bool positive, Env env)
    {
        switch (node)
        {
            case BoundBoolConst c:
                return c.Value == positive ? True : False;
            case BoundNot n:
                return Cubes(n.Operand, !positive, env);
            case BoundLogical l when l.IsAnd == positive:
            {
                List<List<Literal>>? product = True;
                for (int i = 0; i < l.Operands.Count; i++) // an index: a foreach over the interface allocates
                {
                    product = Product(product, Cubes(l.Operands[i], positive, env));
                    if (product is null || product.Count == 0) return product;
                }
                return product;
            }
            case BoundLogical l:
            {
                var union = new List<List<Literal>>();
                for (int i = 0; i < l.Operands.Count; i++)
                {
                    var cubes = Cubes(l.Operands[i], positive, env);
                    if (cubes is null || union.Count + cubes.Count > MaxCubes) return null;
                    union.AddRange(cubes);
                }
                return union;
            }
            case BoundBoolEquals e:
            {
                // a == b is (a && b) || (!a && !b); a != b is (a && !b) || (!a && b).
                var both = Product(Cubes(e.Left, true, env), Cubes(e.Right, positive, env));
                var neither = Product(Cubes(e.Left, false, env), Cubes(e.Right, !positive, env));
                if (both is null || neither is null || both.Count + neither.Count > MaxCubes) return null;
                return [.. both, .. neither];
            }
        }
        var (atom, invert) = Classify(node);
        bool sense = positive != invert;
        if (Constant(atom, env) is { } value) return value == sense ? True : False;
        // Made once per leaf and sense: an analysis solves each rule once per interval of syscalls.
        if (!_leafCubes.TryGetValue(node, out var bySense)) _leafCubes[node] = bySense = new List<List<Literal>>?[2];
        return bySense[sense ? 1 : 0] ??= [[new Literal(atom, sense)]];
    }

    // The condition that always holds (one empty conjunction) and the one that never does (none), shared:
    // cube lists are never changed once made, and most of an analysis's solving meets them (an arch or a
    // syscall test that is constant for the record solved); a new pair each time was most of its allocation.
    private static readonly List<List<Literal>> True = [[]], False = [];

    private static List<List<Literal>>? Product(List<List<Literal>>? a, List<List<Literal>>? b)
    {
        if (a is null || b is null || (long)a.Count * b.Count > MaxCubes) return null;
        if (a.Count == 0 || b.Count == 0) return False;
        if (a.Count == 1 && a[0].Count == 0) return b;
        if (b.Count == 1 && b[0].Count == 0) return a;
        var result = new List<List<Literal>>(a.Count * b.Count);
        foreach (var x in a)
            foreach (var y in b)
            {
                if (x.Count + y.Count > MaxLiterals) return null;
                result.Add([.. x, .. y]);
            }
        return result;
    }

    /// <summary>Classifies a leaf: <paramref name="Invert"/> when the node holds exactly when the atom does not.</summary>
    private (Atom Atom, bool Invert) Classify(BoundBool node)
    {
        if (_atoms.TryGetValue(node, out var known)) return known;
        var result = node switch
        {
            BoundBoolField f => (new FieldAtom(f.Field, [new ValueRange(1, ulong.MaxValue)]), false),
            BoundSyscallIn s => (new SyscallInAtom(s), false),
            BoundStringTest t => (new StringAtom(t.Field, t.Op, t.Value), false),
            BoundInSet { Value: BoundFieldLoad f } s => (new FieldAtom(f.Field, RangeList.FromSet(s.Set)), false),
            BoundCompare c => ClassifyCompare(c),
            _ => ((Atom)new OpaqueAtom(node), false),
        };
        _atoms[node] = result;
        return result;
    }

    private (Atom, bool) ClassifyCompare(BoundCompare c)
    {
        var (op, left, right) = (c.Op, c.Left, c.Right);
        if (left is BoundIntConst && right is not BoundIntConst) (op, left, right) = (op.Mirrored(), right, left);
        if (right is not BoundIntConst k) return (new OpaqueAtom(c), false);
        if (left is BoundFieldLoad f)
        {
            // Rules repeat their comparisons (auid != unset, inode0 != 0): one interval each, shared (read only).
            if (!_intervals.TryGetValue((op, k.Value, c.Signed), out var allowed)) _intervals.Add((op, k.Value, c.Signed), allowed = Interval(op, k.Value, c.Signed));
            return (new FieldAtom(f.Field, allowed), false);
        }
        // (x & m) != 0 and (x & m) == 0: bit tests.
        if (k.Value == 0 && op is CompareOp.Equal or CompareOp.NotEqual && left is BoundBinaryInt { Op: IntBinaryOp.BitAnd } and)
        {
            var (x, m) = and.Right is BoundIntConst ? (and.Left, and.Right) : (and.Right, and.Left);
            if (x is BoundFieldLoad field && m is BoundIntConst mask)
                return (new BitsAtom(field.Field, mask.Value), op == CompareOp.Equal);
        }
        return (new OpaqueAtom(c), false);
    }

    private readonly Dictionary<(CompareOp, ulong, bool), ValueRange[]> _intervals = [];

    /// <summary>The values v (unsigned ranges) with <c>v OP k</c>, in the comparison's signedness.</summary>
    private static ValueRange[] Interval(CompareOp op, ulong k, bool signed)
    {
        // Work with order keys (the sign bit flipped when signed), where the order is unsigned.
        ulong bias = signed ? ValueSet.SignBit : 0, key = k ^ bias;
        var keys = new List<(ulong Lo, ulong Hi)>(2);
        switch (op)
        {
            case CompareOp.Equal: keys.Add((key, key)); break;
            case CompareOp.NotEqual:
                if (key > 0) keys.Add((0, key - 1));
                if (key < ulong.MaxValue) keys.Add((key + 1, ulong.MaxValue));
                break;
            case CompareOp.Less: if (key > 0) keys.Add((0, key - 1)); break;
            case CompareOp.LessEqual: keys.Add((0, key)); break;
            case CompareOp.Greater: if (key < ulong.MaxValue) keys.Add((key + 1, ulong.MaxValue)); break;
            default: keys.Add((key, ulong.MaxValue)); break;
        }
        return RangeList.Normalize(keys.SelectMany(r => RangeList.FromOrdered(r.Lo ^ bias, r.Hi ^ bias, signed)));
    }

    // ---------------------------------------------------------------- one conjunction

    private static ulong DomainMax(ScalarField f) => f.Kind switch
    {
        FieldKind.U8 => byte.MaxValue,
        FieldKind.U32 => uint.MaxValue,
        _ => ulong.MaxValue,
    };

    /// <summary>
    /// Solves a conjunction field by field. With <paramref name="check"/> set, builds a record from the
    /// values found and confirms with the reference evaluator that <paramref name="check"/> equals
    /// <paramref name="positive"/> on it.
    /// </summary>
    private Outcome SolveCube(List<Literal> cube, Env env, BoundBool? check, bool positive, out byte[]? witness)
    {
        witness = null;
        bool unknown = false;
        // The values found are kept only to build a witness.
        Dictionary<ScalarField, ulong>? scalars = check is null ? null : [];
        Dictionary<StringField, byte[]>? strings = check is null ? null : [];
        // Field by field, in the order the cube first names them (its literals grouped without LINQ: this is
        // most of an analysis's solving, once per cube of every interval of syscalls).
        _fieldsSolved.Clear();
        foreach (var literal in cube)
        {
            object? field = FieldOf(literal.Atom);
            if (field is null) unknown |= literal.Atom is OpaqueAtom;
            if (field is null || _fieldsSolved.Contains(field)) continue;
            _fieldsSolved.Add(field);
            Outcome outcome;
            if (field is ScalarField scalar)
            {
                _scalarGroup.Clear();
                foreach (var l in cube)
                    if (scalar.Equals(FieldOf(l.Atom))) _scalarGroup.Add(l);
                outcome = SolveScalar(scalar, _scalarGroup, env, out ulong value);
                if (outcome == Outcome.Satisfiable && scalars is not null) scalars[scalar] = value;
            }
            else
            {
                var text = (StringField)field;
                _stringGroup.Clear();
                foreach (var l in cube)
                    if (l.Atom is StringAtom a && a.Field.Equals(text)) _stringGroup.Add((a, l.Positive));
                outcome = SolveString(text, _stringGroup, out var value);
                if (outcome == Outcome.Satisfiable && strings is not null) strings[text] = value!;
            }
            if (outcome == Outcome.Unsatisfiable) return outcome;
            if (outcome == Outcome.Unknown) unknown = true;
        }
        if (check is null) return unknown ? Outcome.Unknown : Outcome.Satisfiable;

        // Build the witness even when unsure: opaque atoms may happen to hold on it.
        var builder = new RecordBuilder();
        foreach (var (field, value) in scalars!) builder.SetScalar(field, value);
        builder.SetU32(RecordLayout.Syscall, (uint)env.Syscall);
        if (env.ArchIndex >= 0) builder.SetU32(RecordLayout.Arch, env.ArchValue);
        else if (!scalars.ContainsKey(ArchField)) builder.SetU32(RecordLayout.Arch, OtherArchValue(RangeList.Empty));
        foreach (var (field, value) in strings!) builder.SetString(field, value);
        var record = builder.ToArray();
        if (ReferenceEvaluator.Evaluate(check, new Record(record)) != positive) return Outcome.Unknown;
        witness = record;
        return Outcome.Satisfiable;
    }

    /// <summary>The field a literal's atom tests (a <see cref="ScalarField"/> or <see cref="StringField"/>); null for the others.</summary>
    private static object? FieldOf(Atom atom) => atom switch
    {
        FieldAtom f => f.Field,
        BitsAtom b => b.Field,
        StringAtom s => s.Field,
        _ => null,
    };

    // SolveCube's scratch: the fields solved so far and one field's literals.
    private readonly List<object> _fieldsSolved = [];
    private readonly List<Literal> _scalarGroup = [];
    private readonly List<(StringAtom Atom, bool Positive)> _stringGroup = [];

    /// <summary>An arch value that is none of the known ones, outside <paramref name="excluded"/> if possible.</summary>
    private static uint OtherArchValue(ValueRange[] excluded)
    {
        for (uint v = 0; v < 64; v++)
            if (AuditArch.NameOf(v) is null && !RangeList.Contains(excluded, v)) return v;
        return 0;
    }

    private static Outcome SolveScalar(ScalarField field, IEnumerable<Literal> literals, Env env, out ulong value)
    {
        value = 0;
        IReadOnlyList<ValueRange> allowed = [new ValueRange(0, DomainMax(field))];
        // A record of "any other arch" has none of the known arch values.
        if (field == ArchField)
            allowed = env.ArchIndex >= 0 ? [new ValueRange(env.ArchValue, env.ArchValue)]
                : RangeList.Complement(RangeList.Normalize(AuditArch.All.Select(a => new ValueRange(a.Value, a.Value))), 0, uint.MaxValue);
        ulong forbidden = ~DomainMax(field);
        var anyOf = new List<ulong>();
        foreach (var literal in literals)
        {
            switch (literal.Atom)
            {
                case FieldAtom f:
                    allowed = RangeList.Intersect(allowed, literal.Positive ? f.Allowed : RangeList.Complement(f.Allowed, 0, ulong.MaxValue));
                    break;
                case BitsAtom b when literal.Positive: anyOf.Add(b.Mask); break;
                case BitsAtom b: forbidden |= b.Mask; break;
            }
        }
        if (allowed.Count == 0) return Outcome.Unsatisfiable;
        if (anyOf.Count == 0 && (forbidden & ~DomainMax(field)) == forbidden)
        {
            value = allowed[0].Lo;
            return Outcome.Satisfiable;
        }
        ulong required = 0;
        bool exact = true; // every "some bit of mask" test has one usable bit: it requires that bit
        foreach (var mask in anyOf)
        {
            ulong usable = mask & ~forbidden;
            if (usable == 0) return Outcome.Unsatisfiable;
            exact &= (usable & (usable - 1)) == 0;
            required |= usable & (0 - usable); // its lowest usable bit
        }
        if (exact)
        {
            foreach (var r in allowed)
                if (LeastWithBits(r.Lo, required, forbidden) is { } v && v <= r.Hi)
                {
                    value = v;
                    return Outcome.Satisfiable;
                }
            return Outcome.Unsatisfiable;
        }
        foreach (var r in allowed.Take(64))
        {
            foreach (ulong candidate in (ReadOnlySpan<ulong>)[r.Lo, r.Hi, (r.Lo | required) & ~forbidden, (r.Hi & ~forbidden) | required, required])
            {
                if (candidate < r.Lo || candidate > r.Hi || (candidate & forbidden) != 0) continue;
                if (anyOf.Any(m => (candidate & m) == 0)) continue;
                value = candidate;
                return Outcome.Satisfiable;
            }
        }
        return Outcome.Unknown;
    }

    /// <summary>
    /// The least v &gt;= <paramref name="lo"/> with every bit of <paramref name="required"/> set and none of
    /// <paramref name="forbidden"/>, or null. Such a v is lo itself, or lo's bits above some position i where
    /// lo has 0, then a 1 at i, then only the required bits below: the lowest usable i gives the least.
    /// </summary>
    internal static ulong? LeastWithBits(ulong lo, ulong required, ulong forbidden)
    {
        if ((required & forbidden) != 0) return null;
        if ((lo & required) == required && (lo & forbidden) == 0) return lo;
        for (int i = 0; i < 64; i++)
        {
            ulong bit = 1UL << i, above = i == 63 ? 0 : ~0UL << (i + 1);
            if ((lo & bit) != 0 || (forbidden & bit) != 0) continue;
            if ((lo & required & above) != (required & above) || (lo & forbidden & above) != 0) continue;
            return (lo & above) | bit | (required & (bit - 1));
        }
        return null;
    }

    private static Outcome SolveString(StringField field, List<(StringAtom Atom, bool Positive)> literals, out byte[]? value)
    {
        value = null;
        static bool StartsWith(byte[] s, byte[] prefix) => s.AsSpan().StartsWith(prefix);
        bool Holds(byte[] s) => s.Length <= field.MaxLength && literals.All(l => l.Atom.Op.Holds(s, l.Atom.Value) == l.Positive);

        var equal = literals.Where(l => l.Positive && l.Atom.Op == StringTestOp.Equal).Select(l => l.Atom.Value).ToList();
        if (equal.Count > 0)
        {
            // Only one value is possible: it decides.
            if (!Holds(equal[0])) return Outcome.Unsatisfiable;
            value = equal[0];
            return Outcome.Satisfiable;
        }
        if (literals.Any(l => l.Atom.Op is StringTestOp.EndsWith or StringTestOp.Contains))
        {
            // Beyond the prefix solver: one candidate (the required prefix, then what must follow), else unknown.
            byte[] start = literals.Where(l => l.Positive && l.Atom.Op == StringTestOp.StartsWith).Select(l => l.Atom.Value)
                .OrderByDescending(p => p.Length).FirstOrDefault() ?? [];
            byte[] candidate = [.. start, .. literals.Where(l => l.Positive && l.Atom.Op != StringTestOp.StartsWith).SelectMany(l => l.Atom.Value)];
            if (!Holds(candidate)) return Outcome.Unknown;
            value = candidate;
            return Outcome.Satisfiable;
        }
        var prefixes = literals.Where(l => l.Positive).Select(l => l.Atom.Value).OrderByDescending(p => p.Length).ToList();
        byte[] longest = prefixes.Count > 0 ? prefixes[0] : [];
        if (longest.Length > field.MaxLength || prefixes.Any(p => !StartsWith(longest, p))) return Outcome.Unsatisfiable;
        // Every string starting with the longest required prefix starts with a forbidden prefix.
        if (literals.Any(l => !l.Positive && l.Atom.Op == StringTestOp.StartsWith && StartsWith(longest, l.Atom.Value)))
            return Outcome.Unsatisfiable;
        foreach (var suffix in (string[])["", "a", "b", "c", "ab", "ba", "abc"])
        {
            byte[] candidate = [.. longest, .. System.Text.Encoding.ASCII.GetBytes(suffix)];
            if (!Holds(candidate)) continue;
            value = candidate;
            return Outcome.Satisfiable;
        }
        return Outcome.Unknown;
    }
}
