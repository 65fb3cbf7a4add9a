
namespace Filter.Compiler.CodeGen;

/// <summary>
/// Collects instructions in reverse execution order, Kafel style: code for a condition is emitted after
/// (so placed before) the code it jumps to, so every jump target already exists and every jump is
/// forward by construction. A label is an index into the reversed list.
/// <see cref="Link"/> turns the list around, threads jumps, drops unreachable code and encodes offsets.
/// </summary>
internal sealed class Emitter
{
    /// <summary>
    /// An instruction with jump targets as labels (-1: none). A jswitch's True is its first case, and its
    /// <paramref name="Cases"/> cases follow it as pinned <c>ja</c>s: never threaded away or dropped, so that case
    /// c stays at True + c.
    /// </summary>
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Auto)]
    private readonly record struct Pending(OpCode Op, byte A, byte B, ulong Imm, int True, int False, int Cases = 0, bool Pinned = false);

    private readonly List<Pending> _reversed = [];
    private readonly int _limit;

    public Emitter(int limit) => _limit = limit;

    /// <summary>Set once more instructions were emitted than could ever link into a legal program.</summary>
    public bool Overflowed => _reversed.Count > _limit;

    public int Emit(OpCode op, byte a = 0, byte b = 0, ulong imm = 0, int whenTrue = -1, int whenFalse = -1)
    {
        _reversed.Add(new Pending(op, a, b, imm, whenTrue, whenFalse));
        return _reversed.Count - 1;
    }

    /// <summary>
    /// Emits <c>jswitch rA, set</c>: case c (range c of the set, in order) goes to <paramref name="cases"/>[c], a
    /// value in no range to <paramref name="otherwise"/>. Returns its label.
    /// </summary>
    public int EmitSwitch(byte a, ulong set, IReadOnlyList<int> cases, int otherwise)
    {
        for (int c = cases.Count - 1; c >= 0; c--) _reversed.Add(new Pending(OpCode.Ja, 0, 0, 0, cases[c], -1, Pinned: true));
        _reversed.Add(new Pending(OpCode.Jswitch, a, 0, set, _reversed.Count - 1, otherwise, cases.Count));
        return _reversed.Count - 1;
    }

    /// <summary>Emits a straight-line sequence given in execution order; returns the label of its first instruction.</summary>
    public int EmitSequence(List<Instruction> forward, int next)
    {
        for (int i = forward.Count - 1; i >= 0; i--)
        {
            var f = forward[i];
            next = Emit(f.Op, f.A, f.B, f.Imm);
        }
        return next;
    }

    /// <summary>Produces the final instruction list with <paramref name="entry"/> at pc 0; once, the emitter's own list being its work space.</summary>
    public System.Collections.Immutable.ImmutableArray<Instruction> Link(int entry)
    {
        if (entry != _reversed.Count - 1) entry = Emit(OpCode.Ja, whenTrue: entry);
        int n = _reversed.Count;
        // Execution order: pc = n - 1 - label. Straight-line instructions fall through to pc + 1.
        var code = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_reversed);
        code.Reverse();
        foreach (ref var p in code)
            p = p with { True = p.True < 0 ? -1 : n - 1 - p.True, False = p.False < 0 ? -1 : n - 1 - p.False };

        // Thread jumps through unconditional jumps; a condition whose targets agree is an unconditional jump.
        static int Resolve(Span<Pending> code, int t)
        {
            while (code[t].Op == OpCode.Ja) t = code[t].True;
            return t;
        }
        for (int pc = 0; pc < n; pc++)
        {
            var p = code[pc];
            if (p.True < 0) continue;
            if (p.Op == OpCode.Jswitch) { code[pc] = p with { False = Resolve(code, p.False) }; continue; }
            int t = Resolve(code, p.True), f = p.False < 0 ? -1 : Resolve(code, p.False);
            code[pc] = p.False >= 0 && t == f ? new Pending(OpCode.Ja, 0, 0, 0, t, -1, Pinned: p.Pinned) : p with { True = t, False = f };
        }

        // Keep what is reachable from pc 0, minus jumps to the next kept instruction.
        var keep = new bool[n];
        keep[0] = true;
        for (int pc = 0; pc < n; pc++)
        {
            if (!keep[pc]) continue;
            var p = code[pc];
            var info = InstructionSet.Get(p.Op);
            if (info.Jump == JumpKind.None) keep[pc + 1] = true;
            if (p.True >= 0) keep.AsSpan(p.True, Math.Max(1, p.Cases)).Fill(true);
            if (p.False >= 0) keep[p.False] = true;
        }
        var newPc = new int[n + 1];
        bool changed = true;
        while (changed)
        {
            changed = false;
            int count = 0;
            for (int pc = 0; pc < n; pc++) { newPc[pc] = count; if (keep[pc]) count++; }
            newPc[n] = count;
            for (int pc = 0; pc < n; pc++)
            {
                if (keep[pc] && code[pc].Op == OpCode.Ja && !code[pc].Pinned && newPc[code[pc].True] == newPc[pc] + 1)
                {
                    keep[pc] = false;
                    changed = true;
                }
            }
        }

        var result = System.Collections.Immutable.ImmutableArray.CreateBuilder<Instruction>(newPc[n]);
        for (int pc = 0; pc < n; pc++)
        {
            if (!keep[pc]) continue;
            var p = code[pc];
            int at = newPc[pc];
            ushort Offset(int target) => target < 0 ? (ushort)0 : (ushort)(newPc[target] - at - 1);
            result.Add(new Instruction(p.Op, p.A, p.B, Offset(p.True), Offset(p.False), p.Imm));
        }
        return result.MoveToImmutable();
    }
}
