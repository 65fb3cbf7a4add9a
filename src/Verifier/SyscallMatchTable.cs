using System.Runtime.CompilerServices;

namespace Filter.Verifier;

/// <summary>
/// Which syscall records a program can match, decided from their arch and syscall number alone, so that a
/// caller can skip the filter for a record none of its filters can want (spec/bytecode.md, "Which syscalls
/// a program can match").
/// <para><b>Promise.</b> <see cref="MayMatch"/> is false only if the program returns 0 for every syscall
/// record (<c>type</c> = syscall, <c>sig</c> = 0) with that arch and number, whatever its other fields. A
/// true may be wrong (the program may still return 0 for all of them); a false never is.</para>
/// <para><b>Layout.</b> One block of <see cref="Words"/> words per arch of <see cref="AuditArch.All"/>, in
/// that order, in one array: bit n for syscall n below <see cref="SyscallLimit"/>, and bit
/// <see cref="SyscallLimit"/> for every larger number of that arch. One flag covers every other arch
/// value.</para>
/// </summary>
public sealed class SyscallMatchTable
{
    /// <summary>Numbers below this get one bit per arch; larger numbers of an arch share one.</summary>
    public const int SyscallLimit = 1024;

    /// <summary>Words per arch: SyscallLimit bits, then the bit for every larger number.</summary>
    private const int Words = SyscallLimit / 64 + 1;

    /// <summary>The archs with a block, in <see cref="AuditArch.All"/>'s order.</summary>
    private const int ArchBlocks = 3;

    // Read once, then constants to the JIT. MayMatch compares with exactly these three: an arch added to
    // AuditArch.All beyond them is answered by the other-arch flag, which the analysis computes with the
    // arch unknown, so stays sound until it gets a block (a comparison here).
    private static readonly uint Arch0 = AuditArch.All[0].Value, Arch1 = AuditArch.All[1].Value, Arch2 = AuditArch.All[2].Value;

    /// <summary>The blocks inline, so that a lookup is one load from the table.</summary>
    [InlineArray(ArchBlocks * Words)]
    private struct Blocks
    {
        private ulong _word;
    }

    private readonly Blocks _bits;
    private readonly bool _otherArch;
    /// <summary>Per arch block and number below SyscallLimit, the <see cref="Fields"/> read (bit i: Fields[i]); null: all of them.</summary>
    private readonly ulong[]? _fieldsRead;
    private readonly ulong _allFields;

    private SyscallMatchTable(ulong[] bits, bool otherArch, IReadOnlyList<string>? fields = null, ulong[]? fieldsRead = null)
    {
        bits.CopyTo(_bits);
        _otherArch = otherArch;
        MatchesNothing = !otherArch && Array.TrueForAll(bits, w => w == 0);
        Fields = fields ?? [];
        _fieldsRead = fieldsRead;
        _allFields = Fields.Count >= 64 ? ulong.MaxValue : (1UL << Fields.Count) - 1;
    }

    /// <summary>Matches nothing.</summary>
    public static SyscallMatchTable None { get; } = new(new ulong[ArchBlocks * Words], false);

    /// <summary>
    /// The fields <see cref="FieldsRead"/> speaks of: the program's <see cref="VerifiedProgram.FieldsRead"/> in
    /// ordinal order (none for <see cref="None"/> and a <see cref="Union"/>).
    /// </summary>
    public IReadOnlyList<string> Fields { get; }

    /// <summary>
    /// Of <see cref="Fields"/>, those (bit i for Fields[i]) the program can read on a syscall record (sig 0)
    /// with this arch and syscall, whatever its other fields: no instruction reading another is reachable
    /// for such a record, so a source decoding the record for this program alone may leave the others out.
    /// All of them for an arch without a block, a number of <see cref="SyscallLimit"/> or more, and a
    /// program reading more than 64 fields. Meaningful where <see cref="MayMatch"/> is true.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong FieldsRead(uint arch, uint syscall)
    {
        int block;
        if (_fieldsRead is null || syscall >= SyscallLimit) return _allFields;
        if (arch == Arch0) block = 0;
        else if (arch == Arch1) block = SyscallLimit;
        else if (arch == Arch2) block = 2 * SyscallLimit;
        else return _allFields;
        return _fieldsRead[block + (int)syscall];
    }

    /// <summary><see cref="MayMatch"/> is false for every arch and syscall.</summary>
    public bool MatchesNothing { get; }

    /// <summary>
    /// False only if the program returns 0 for every syscall record (type = syscall (0), sig = 0) with this
    /// arch and syscall, whatever the record's other fields (ids, args, exit, success, comm, exe, ...).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool MayMatch(uint arch, uint syscall)
    {
        int block;
        if (arch == Arch0) block = 0;
        else if (arch == Arch1) block = Words;
        else if (arch == Arch2) block = 2 * Words;
        else return _otherArch;
        uint bit = Math.Min(syscall, (uint)SyscallLimit);
        return (_bits[block + (int)(bit >> 6)] & (1UL << (int)(bit & 63))) != 0;
    }

    /// <summary>Whether <see cref="MayMatch"/> answers alike for every arch and syscall in both tables.</summary>
    public bool SameAs(SyscallMatchTable other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return _otherArch == other._otherArch && ((ReadOnlySpan<ulong>)_bits).SequenceEqual(other._bits);
    }

    /// <summary>Each table's MayMatch ORed: what a caller running all their programs may match. Of no tables: nothing.</summary>
    public static SyscallMatchTable Union(IEnumerable<SyscallMatchTable> tables)
    {
        ArgumentNullException.ThrowIfNull(tables);
        var bits = new ulong[ArchBlocks * Words];
        bool other = false;
        foreach (var table in tables)
        {
            for (int i = 0; i < bits.Length; i++) bits[i] |= table._bits[i];
            other |= table._otherArch;
        }
        return new SyscallMatchTable(bits, other);
    }

    /// <summary>
    /// The table of <paramref name="program"/>, computed once per program on first use (not by the verifier,
    /// so that only callers who use it pay for it).
    /// </summary>
    public static SyscallMatchTable Of(VerifiedProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        return program.Derived(For);
    }

    /// <summary>
    /// The table of <paramref name="program"/>, computed anew (prefer <see cref="Of"/>). A few passes over the
    /// code, one per arch for a program that tests the syscall only through jumps; more for one that carries
    /// syscall-derived values across joins, within a fixed budget beyond which what is left counts as matching.
    /// </summary>
    public static SyscallMatchTable For(VerifiedProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        var fields = program.FieldsRead.Order(StringComparer.Ordinal).ToList();
        var analysis = new Analysis(program, fields);
        // The arch and the syscall unknown: if no record can match then, none can at all.
        if (!analysis.MayMatchAny(arch: null)) return None;
        var bits = new ulong[ArchBlocks * Words];
        for (int a = 0; a < ArchBlocks; a++)
        {
            uint arch = AuditArch.All[a].Value;
            // The syscall unknown covers every number of the arch, the large ones with the rest.
            if (!analysis.MayMatchAny(arch)) continue;
            var block = bits.AsSpan(a * Words, Words);
            analysis.SmallNumbers(arch, a).CopyTo(block);
            block[SyscallLimit >> 6] |= 1UL << (SyscallLimit & 63);
        }
        return new SyscallMatchTable(bits, otherArch: true, fields, analysis.FieldsRead());
    }

    private enum Kind : byte { Unknown, Const, Sym }

    /// <summary>
    /// An abstract register value: any value, a constant, or a function of the syscall number (Value: the
    /// index of its <see cref="Node"/>). The default is Unknown with Value 0, so equal values are equal field
    /// by field.
    /// </summary>
    private readonly record struct Val(Kind Kind, ulong Value)
    {
        public static Val Const(ulong value) => new(Kind.Const, value);
        public static Val Sym(int node) => new(Kind.Sym, (ulong)node);
    }

    /// <summary>A function of the syscall number: Op applied to Left and Right (each Const or Sym; Right unused by neg and not).</summary>
    private readonly record struct Node(OpCode Op, Val Left, Val Right);

    /// <summary>A comparison of a syscall function: its opcode and operands (for jin, B is the set index as a Const).</summary>
    private readonly record struct Test(OpCode Op, Val A, Val B);

    /// <summary>
    /// Abstract interpretation of the loop-free code, pcs in order (every jump goes forward). A pass is for
    /// one arch (or any) and a set of syscall numbers below SyscallLimit, its members (or any number, the
    /// syscall then unknown). Each pc has the members that can reach it and one register state for them all:
    /// per register Unknown, a constant, or a function of the syscall number (symbolic), merged where paths
    /// join (a register the paths disagree on becomes Unknown; registers no path reads later are left out,
    /// so they never disagree). A comparison of a symbolic value sends each member down the edge its own
    /// value takes, so a program that tests the syscall by jumps is analysed exactly, as if number by number.
    /// A join that loses a value while members arrive through different edges may cost precision: the pass
    /// then runs again on each group of members that arrive alike.
    /// </summary>
    private sealed class Analysis
    {
        private const int Regs = InstructionSet.RegisterCount;
        /// <summary>Words of a set of syscall numbers below SyscallLimit.</summary>
        private const int SetWords = SyscallLimit / 64;
        /// <summary>
        /// Work (in register slots visited and numbers evaluated, about 2.5 ns each) after which no pass but the
        /// first of each arch runs: about 20 ms. A program that tests the syscall only by jumps needs a pass per
        /// arch, under 0.2 ms at 4,096 instructions; only lossy joins need more.
        /// </summary>
        private const long Budget = 8L << 20;
        /// <summary>Distinct syscall functions tracked (each keeps a value per number); beyond this, results are Unknown.</summary>
        private const int MaxNodes = 64;
        /// <summary>Joins a group is split by at once (one is enough to make progress).</summary>
        private const int MaxSplitJoins = 16;

        private readonly ExecInstruction[] _code;
        private readonly IReadOnlyList<ValueSet> _sets;
        /// <summary>Per pc, the registers some path from it reads before writing (bit r).</summary>
        private readonly ushort[] _liveIn;
        /// <summary>Per pc, where its live registers' values on entry start in <see cref="_states"/>; then the end.</summary>
        private readonly int[] _stateStart;
        /// <summary>Per pc, the values on entry of the registers live there (<see cref="_liveIn"/>, in order): a dead one is Unknown.</summary>
        private readonly Val[] _states;
        /// <summary>
        /// Per pc reached in the pass, its row of <see cref="_rows"/>: the members that reach it (SetWords words;
        /// only the first in a pass with the syscall unknown). A pc takes a row when first reached and gives it
        /// back once done (every jump is forward), so only the pcs jumped ahead to hold one at a time.
        /// </summary>
        private readonly int[] _rowOf;
        private readonly List<ulong[]> _rows = [];
        private readonly Stack<int> _freeRows = new();
        /// <summary>Per pc, the last pass that reached it (its registers and members are that pass's).</summary>
        private readonly int[] _reachedIn;
        private int _pass;
        private readonly List<Node> _nodes = [];
        private readonly Dictionary<Node, int> _nodeIndex = [];
        /// <summary>Per node, its value for each number below SyscallLimit.</summary>
        private readonly List<ulong[]> _vectors = [];
        /// <summary>Per comparison of a syscall function, the numbers for which it holds.</summary>
        private readonly Dictionary<Test, ulong[]> _testBits = [];
        /// <summary>The last pass's lossy joins: the members that had reached the join, and those arriving.</summary>
        private readonly List<(ulong[] Before, ulong[] Arriving)> _lossyJoins = [];
        private readonly ulong[] _scratchA = new ulong[SyscallLimit], _scratchB = new ulong[SyscallLimit];
        private long _work;
        /// <summary>Per pc, the index of the field it reads (in the table's Fields), or -1.</summary>
        private readonly int[] _fieldAt;
        private readonly int _fieldCount;
        private readonly bool _fieldsTracked;
        /// <summary>Per field and arch block, the members that reach an instruction reading it (SetWords words), over every pass.</summary>
        private readonly ulong[] _fieldReach;
        /// <summary>The arch block whose members the passes now track for <see cref="_fieldReach"/>, or -1.</summary>
        private int _fieldArch = -1;

        public Analysis(VerifiedProgram program, List<string> fields)
        {
            // More than a mask holds: not tracked (FieldsRead answers all of them).
            _fieldCount = fields.Count <= 64 ? fields.Count : 0;
            _fieldsTracked = fields.Count <= 64;
            _fieldAt = [.. program.Code.Select(i => _fieldsTracked && VerifiedProgram.FieldReadBy(i) is { } f ? fields.BinarySearch(f, StringComparer.Ordinal) : -1)];
            _fieldReach = new ulong[_fieldCount * ArchBlocks * SetWords];
            _code = ExecInstruction.Resolve(program.Code, program.Image.Sets);
            _sets = program.Image.Sets;
            _liveIn = RegisterLiveness.LiveIn(_code);
            // Only live registers are kept: a program's few live ones instead of every register at every pc.
            _stateStart = new int[_code.Length + 1];
            for (int pc = 0; pc < _code.Length; pc++) _stateStart[pc + 1] = _stateStart[pc] + System.Numerics.BitOperations.PopCount(_liveIn[pc]);
            _states = new Val[_stateStart[^1]];
            _rowOf = new int[_code.Length];
            _reachedIn = new int[_code.Length];
            var identity = new ulong[SyscallLimit];
            for (int n = 0; n < identity.Length; n++) identity[n] = (ulong)n;
            // Node 0 is the syscall number itself, as ldw loads it.
            _nodes.Add(new Node(OpCode.Ldw, default, default));
            _vectors.Add(identity);
        }

        private Span<ulong> FieldReach(int field) => _fieldReach.AsSpan((field * ArchBlocks + _fieldArch) * SetWords, SetWords);

        /// <summary>Whether some record with this arch (null: any) and any syscall number may match.</summary>
        public bool MayMatchAny(uint? arch) => Run(arch, members: null)[0] != 0;

        /// <summary>
        /// Per arch block and number below SyscallLimit, the fields (bit i: the table's Fields[i]) some pass
        /// over the number found an instruction reading reachable; null when there are more than 64 fields.
        /// Each pass is sound, so every field read for a number is in its mask.
        /// </summary>
        public ulong[]? FieldsRead()
        {
            if (!_fieldsTracked) return null;
            var masks = new ulong[ArchBlocks * SyscallLimit];
            for (int f = 0; f < _fieldCount; f++)
                for (int a = 0; a < ArchBlocks; a++)
                {
                    var reach = _fieldReach.AsSpan((f * ArchBlocks + a) * SetWords, SetWords);
                    for (int w = 0; w < SetWords; w++)
                        for (ulong bits = reach[w]; bits != 0; bits &= bits - 1)
                            masks[a * SyscallLimit + w * 64 + System.Numerics.BitOperations.TrailingZeroCount(bits)] |= 1UL << f;
                }
            return masks;
        }

        /// <summary>
        /// The numbers below SyscallLimit that may match with this arch, as a bitmap; the fields read for
        /// each go into arch block <paramref name="block"/> of <see cref="FieldsRead"/>.
        /// </summary>
        public ulong[] SmallNumbers(uint arch, int block)
        {
            _fieldArch = block;
            var result = new ulong[SetWords];
            var all = new ulong[SetWords];
            all.AsSpan().Fill(ulong.MaxValue);
            // A group of members, and what a pass over a larger group already allows them (each pass is sound,
            // so a member may match only if every pass that covered it says so).
            var pending = new Stack<(ulong[] Members, ulong[] Bound)>();
            pending.Push((all, all));
            bool first = true;
            while (pending.TryPop(out var group))
            {
                if (!first && _work > Budget)
                {
                    Or(result, group.Bound);
                    continue;
                }
                first = false;
                var matched = Run(arch, group.Members);
                And(matched, group.Bound);
                if (_lossyJoins.Count > 0 && !IsEmpty(matched))
                {
                    foreach (var part in Split(group.Members)) pending.Push((part, AndNew(matched, part)));
                }
                else
                {
                    Or(result, matched);
                }
            }
            _fieldArch = -1;
            return result;
        }

        /// <summary>
        /// One pass for records with this arch (null: any) and a syscall among <paramref name="members"/>
        /// (null: any number, the syscall unknown). Returns the members for which some ret with a non-zero
        /// verdict is reachable (with the syscall unknown: one word, non-zero if one is). The lossy joins are
        /// left in <see cref="_lossyJoins"/>.
        /// </summary>
        private ulong[] Run(uint? arch, ulong[]? members)
        {
            // With the syscall unknown, bit 0 stands for "reachable".
            int words = members is null ? 1 : SetWords;
            int single = members is null ? -1 : SingleMember(members);
            _lossyJoins.Clear();
            _pass++;
            _freeRows.Clear();
            for (int row = _rows.Count - 1; row >= 0; row--) _freeRows.Push(row);
            _reachedIn[0] = _pass;
            _rowOf[0] = TakeRow();
            _states.AsSpan(0, _stateStart[1]).Clear();
            if (members is null) _rows[_rowOf[0]][0] = 1;
            else members.CopyTo(_rows[_rowOf[0]], 0);
            int done = -1;
            var matched = new ulong[words];
            Span<ulong> taken = stackalloc ulong[SetWords], notTaken = stackalloc ulong[SetWords];
            Span<Val> r = stackalloc Val[Regs];
            _work += _code.Length / 4 + 1;
            bool fieldsTracked = members is not null && _fieldArch >= 0;
            for (int pc = 0; pc < _code.Length; pc++)
            {
                if (_reachedIn[pc] != _pass) continue;
                // The pc visited before this one is done with its row.
                if (done >= 0) _freeRows.Push(done);
                done = _rowOf[pc];
                var reach = _rows[done].AsSpan(0, words);
                _work += Regs;
                if (fieldsTracked && _fieldAt[pc] >= 0) Or(FieldReach(_fieldAt[pc]), reach);
                // The working state: the registers live here, every other one unknown.
                r.Clear();
                int at = _stateStart[pc];
                for (uint live = _liveIn[pc]; live != 0; live &= live - 1) r[System.Numerics.BitOperations.TrailingZeroCount(live)] = _states[at++];
                var i = _code[pc];
                switch (HowToAnalyse(i.Op))
                {
                    case Analysed.Return:
                        if (i.Imm != 0)
                        {
                            Or(matched, reach);
                            // Everyone matches: later passes could refine only through a lossy join already seen.
                            // The pcs not visited may read any field for them.
                            if (_lossyJoins.Count == 0 && (members is null || matched.AsSpan().SequenceEqual(members)))
                            {
                                if (fieldsTracked)
                                    for (int f = 0; f < _fieldCount; f++) Or(FieldReach(f), members);
                                return matched;
                            }
                        }
                        continue;
                    case Analysed.Load:
                        r[i.A] = Load(i.Op, (int)i.Imm, arch, members, single);
                        break;
                    case Analysed.AluK:
                        r[i.A] = i.Op == OpCode.MovK ? Val.Const(i.Imm) : Compute(i.Op, r[i.A], Val.Const(i.Imm));
                        break;
                    case Analysed.AluX:
                        r[i.A] = i.Op == OpCode.MovX ? r[i.B] : Compute(i.Op, r[i.A], r[i.B]);
                        break;
                    case Analysed.Unary:
                        r[i.A] = Compute(i.Op, r[i.A], default);
                        break;
                    case Analysed.Jump:
                        Flow(r, reach, i.True, members is not null);
                        continue;
                    case Analysed.TestK:
                        Branch(new Test(i.Op, r[i.A], Val.Const(i.Imm)), r, reach, i, taken[..words], notTaken[..words], members is not null);
                        continue;
                    case Analysed.TestX:
                        Branch(new Test(i.Op, r[i.A], r[i.B]), r, reach, i, taken[..words], notTaken[..words], members is not null);
                        continue;
                    case Analysed.Switch:
                        Switch(r[i.A], r, reach, i, members is not null);
                        continue;
                    case Analysed.Unknown:
                        // Strings are unknown when a record opens.
                        Flow(r, reach, i.True, members is not null);
                        Flow(r, reach, i.False, members is not null);
                        continue;
                }
                Flow(r, reach, pc + 1, members is not null);
            }
            return matched;
        }

        /// <summary>
        /// What a load gives: the fields known when a syscall record opens (its arch when the pass has one,
        /// its number, type syscall, sig 0); every other field is unknown.
        /// </summary>
        private static Val Load(OpCode op, int offset, uint? arch, ulong[]? members, int single) => (op, offset) switch
        {
            (OpCode.Ldw, RecordLayout.Arch) => arch is { } a ? Val.Const(a) : default,
            (OpCode.Ldw, RecordLayout.Syscall) => members is null ? default : single >= 0 ? Val.Const((ulong)single) : Val.Sym(0),
            (OpCode.Ldb, RecordLayout.Type) => Val.Const(RecordLayout.EventTypeSyscall),
            (OpCode.Ldw, RecordLayout.Sig) => Val.Const(0),
            _ => default,
        };

        /// <summary>An ALU operation on abstract values: exact on constants, a new syscall function on a symbolic value.</summary>
        private Val Compute(OpCode op, Val a, Val b)
        {
            bool unary = op is OpCode.Neg or OpCode.Not;
            if (a.Kind == Kind.Unknown || (!unary && b.Kind == Kind.Unknown)) return default;
            if (a.Kind == Kind.Const && (unary || b.Kind == Kind.Const)) return Val.Const(Alu(op, a.Value, b.Value));
            var node = new Node(op, a, unary ? default : b);
            if (!_nodeIndex.TryGetValue(node, out int index))
            {
                if (_nodes.Count >= MaxNodes) return default;
                // Operands are earlier nodes, so their values are already known.
                var values = new ulong[SyscallLimit];
                for (int n = 0; n < values.Length; n++) values[n] = Alu(op, ValueAt(a, n), unary ? 0 : ValueAt(b, n));
                _work += SyscallLimit;
                index = _nodes.Count;
                _nodes.Add(node);
                _vectors.Add(values);
                _nodeIndex.Add(node, index);
            }
            return Val.Sym(index);
        }

        private static ulong Alu(OpCode op, ulong a, ulong b) => Semantics.Alu(op, a, b);

        private enum Analysed { Return, Load, AluK, AluX, Unary, Jump, TestK, TestX, Switch, Unknown }

        /// <summary>
        /// How the analysis treats each opcode. A switch expression with no default arm: an opcode without a
        /// case here is a compile error (CS8509), so the analysis cannot miss one.
        /// </summary>
        private static Analysed HowToAnalyse(OpCode op) => op switch
        {
            OpCode.Ret => Analysed.Return,
            OpCode.Ldb or OpCode.Ldw or OpCode.Lddw => Analysed.Load,
            OpCode.MovK or OpCode.AddK or OpCode.SubK or OpCode.AndK or OpCode.OrK or OpCode.XorK or OpCode.LshK or OpCode.RshK
                or OpCode.ArshK => Analysed.AluK,
            OpCode.MovX or OpCode.AddX or OpCode.SubX or OpCode.AndX or OpCode.OrX or OpCode.XorX or OpCode.LshX or OpCode.RshX
                or OpCode.ArshX => Analysed.AluX,
            OpCode.Neg or OpCode.Not => Analysed.Unary,
            OpCode.Ja => Analysed.Jump,
            OpCode.JeqK or OpCode.JgtK or OpCode.JgeK or OpCode.JsgtK or OpCode.JsgeK or OpCode.JsetK or OpCode.Jin => Analysed.TestK,
            OpCode.JeqX or OpCode.JgtX or OpCode.JgeX or OpCode.JsgtX or OpCode.JsgeX or OpCode.JsetX => Analysed.TestX,
            OpCode.JstrEq or OpCode.JstrPrefix or OpCode.JstrSuffix or OpCode.JstrContains => Analysed.Unknown,
            OpCode.Jswitch => Analysed.Switch,
        };

        /// <summary>The engines' comparisons; for jin, <paramref name="b"/> is the set index.</summary>
        private bool Compare(OpCode op, ulong a, ulong b) => op == OpCode.Jin ? _sets[(int)b].Contains(a) : Semantics.Compare(op, a, b);

        /// <summary>The value of a Const or Sym for syscall number <paramref name="n"/>.</summary>
        private ulong ValueAt(Val v, int n) => v.Kind == Kind.Sym ? _vectors[(int)v.Value][n] : v.Value;

        /// <summary>
        /// A conditional jump: an edge for the members whose records can take it. Constants decide for all;
        /// a syscall function decides member by member; anything unknown sends every member both ways.
        /// </summary>
        private void Branch(Test t, Span<Val> r, Span<ulong> reach, ExecInstruction i, Span<ulong> taken, Span<ulong> notTaken, bool tracked)
        {
            if (t.A.Kind == Kind.Unknown || t.B.Kind == Kind.Unknown)
            {
                Flow(r, reach, i.True, tracked);
                Flow(r, reach, i.False, tracked);
            }
            else if (t.A.Kind == Kind.Const && t.B.Kind == Kind.Const)
            {
                Flow(r, reach, Compare(t.Op, t.A.Value, t.B.Value) ? i.True : i.False, tracked);
            }
            else
            {
                // A symbolic value exists only in a pass over members.
                var holds = TestBits(t);
                for (int w = 0; w < reach.Length; w++)
                {
                    taken[w] = reach[w] & holds[w];
                    notTaken[w] = reach[w] & ~holds[w];
                }
                if (!IsEmpty(taken)) Flow(r, taken, i.True, tracked);
                if (!IsEmpty(notTaken)) Flow(r, notTaken, i.False, tracked);
            }
        }

        /// <summary>
        /// A jswitch: each member down its own case (or the default) when the value is a constant or a syscall
        /// function; every case and the default when it is unknown.
        /// </summary>
        private void Switch(Val v, Span<Val> r, Span<ulong> reach, ExecInstruction i, bool tracked)
        {
            var set = _sets[(int)i.Imm];
            int Target(ulong value) => set.IndexOf(value) is var c and >= 0 ? i.True + c : i.False;
            _work += i.Cases;
            if (v.Kind == Kind.Unknown)
            {
                for (int c = 0; c < i.Cases; c++) Flow(r, reach, i.True + c, tracked);
                Flow(r, reach, i.False, tracked);
            }
            else if (v.Kind == Kind.Const)
            {
                Flow(r, reach, Target(v.Value), tracked);
            }
            else
            {
                var byTarget = new Dictionary<int, ulong[]>();
                for (int n = 0; n < SyscallLimit; n++)
                {
                    if ((reach[n >> 6] & 1UL << (n & 63)) == 0) continue;
                    int to = Target(ValueAt(v, n));
                    if (!byTarget.TryGetValue(to, out var arriving)) byTarget[to] = arriving = new ulong[reach.Length];
                    arriving[n >> 6] |= 1UL << (n & 63);
                }
                _work += SyscallLimit;
                foreach (var (to, arriving) in byTarget.OrderBy(t => t.Key)) Flow(r, arriving, to, tracked);
            }
        }

        /// <summary>The numbers below SyscallLimit for which a comparison of syscall functions holds.</summary>
        private ulong[] TestBits(Test t)
        {
            if (_testBits.TryGetValue(t, out var bits)) return bits;
            bits = new ulong[SetWords];
            // Operands as per-number values (a constant: the same for each).
            ReadOnlySpan<ulong> a = Values(t.A, _scratchA), b = Values(t.B, _scratchB);
            for (int n = 0; n < SyscallLimit; n++)
                if (Compare(t.Op, a[n], b[n])) bits[n >> 6] |= 1UL << (n & 63);
            _work += SyscallLimit;
            _testBits.Add(t, bits);
            return bits;
        }

        /// <summary>A Const or Sym's value for each number below SyscallLimit (a constant's written into <paramref name="scratch"/>).</summary>
        private ReadOnlySpan<ulong> Values(Val v, ulong[] scratch)
        {
            if (v.Kind == Kind.Sym) return _vectors[(int)v.Value];
            scratch.AsSpan().Fill(v.Value);
            return scratch;
        }

        private int TakeRow()
        {
            if (_freeRows.TryPop(out int row)) return row;
            _rows.Add(new ulong[SetWords]);
            return _rows.Count - 1;
        }

        /// <summary>
        /// Carries the state and the <paramref name="arriving"/> members into <paramref name="target"/>: a copy
        /// on the first edge, a merge on later ones. Registers not live at the target are left Unknown.
        /// </summary>
        private void Flow(Span<Val> state, Span<ulong> arriving, int target, bool tracked)
        {
            bool first = _reachedIn[target] != _pass;
            if (first) _rowOf[target] = TakeRow();
            var reach = _rows[_rowOf[target]].AsSpan(0, arriving.Length);
            var into = _states.AsSpan(_stateStart[target], _stateStart[target + 1] - _stateStart[target]);
            uint live = _liveIn[target];
            if (first)
            {
                _reachedIn[target] = _pass;
                arriving.CopyTo(reach);
                for (int j = 0; live != 0; live &= live - 1, j++) into[j] = state[System.Numerics.BitOperations.TrailingZeroCount(live)];
                return;
            }
            bool lost = false;
            for (int j = 0; live != 0; live &= live - 1, j++)
            {
                var value = state[System.Numerics.BitOperations.TrailingZeroCount(live)];
                if (into[j] != value)
                {
                    into[j] = default;
                    lost = true;
                }
            }
            // A value lost where some members arrive one way and some another: running those groups apart
            // keeps it for each. (Members arriving both ways lose it number by number too.)
            if (lost && tracked && !reach.SequenceEqual(arriving) && _lossyJoins.Count < MaxSplitJoins)
                _lossyJoins.Add((reach.ToArray(), arriving.ToArray()));
            Or(reach, arriving);
        }

        /// <summary>
        /// Splits <paramref name="members"/> into the groups that arrived alike at each lossy join of the last
        /// pass (before it, arriving, both or neither). A lossy join had members on one side only, so there are
        /// at least two groups.
        /// </summary>
        private List<ulong[]> Split(ulong[] members)
        {
            var groups = new List<ulong[]> { members };
            foreach (var (before, arriving) in _lossyJoins)
            {
                foreach (var side in (ulong[][])[before, arriving])
                {
                    var next = new List<ulong[]>(2 * groups.Count);
                    foreach (var g in groups)
                    {
                        var inside = AndNew(g, side);
                        var outside = AndNotNew(g, side);
                        if (!IsEmpty(inside)) next.Add(inside);
                        if (!IsEmpty(outside)) next.Add(outside);
                    }
                    groups = next;
                }
            }
            return groups;
        }

        private static int SingleMember(ulong[] members)
        {
            int found = -1;
            for (int w = 0; w < members.Length; w++)
            {
                if (members[w] == 0) continue;
                if (found >= 0 || (members[w] & (members[w] - 1)) != 0) return -1;
                found = w * 64 + System.Numerics.BitOperations.TrailingZeroCount(members[w]);
            }
            return found;
        }

        private static bool IsEmpty(ReadOnlySpan<ulong> set) => set.IndexOfAnyExcept(0UL) < 0;

        private static void Or(Span<ulong> into, ReadOnlySpan<ulong> set)
        {
            for (int w = 0; w < into.Length; w++) into[w] |= set[w];
        }

        private static void And(Span<ulong> into, ReadOnlySpan<ulong> set)
        {
            for (int w = 0; w < into.Length; w++) into[w] &= set[w];
        }

        private static ulong[] AndNew(ulong[] a, ulong[] b)
        {
            var c = (ulong[])a.Clone();
            And(c, b);
            return c;
        }

        private static ulong[] AndNotNew(ulong[] a, ulong[] b)
        {
            var c = new ulong[a.Length];
            for (int w = 0; w < c.Length; w++) c[w] = a[w] & ~b[w];
            return c;
        }
    }
}
