using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Filter.VM;

/// <summary>
/// One instruction in the interpreter's form (40 bytes). Jump targets are byte offsets from the step itself,
/// so taking a jump is one add; a target that is a <c>ret #v</c> is stored as ~v (negative: targets are
/// forward), and the interpreter returns it without dispatching the <c>ret</c>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal readonly record struct Step(OpCode Op, byte A, byte B, int False, int True, int Aux, ulong Imm, ulong Mask = 0, ulong Span = 0)
{
    public static readonly int Size = Unsafe.SizeOf<Step>();
}

/// <summary>
/// Builds a verified program's form for the interpreter (spec/bytecode.md, "The interpreter's form"), once per
/// program from the verified instructions: every step computes what the instructions it stands for compute,
/// and every index it holds (registers, field offsets, bitmap words, targets) was checked by the verifier or
/// here, so the interpreter uses them without bounds checks. Sets and strings stay the program's.
/// </summary>
internal static class InterpreterCode
{
    // ---- Steps that are not bytecode ---------------------------------------------------------------------
    // An interpreter's cost is its dispatch, so the commonest pairs and constants get steps of their own. The
    // codes follow the last opcode directly: the switch compiles to one jump table only over dense codes.
    //
    // A field load and the compare-and-branch after it (`ldw r0, [arch]; jeq r0, #...`) are one step when no
    // path reads the register after the jump (the compiler loads each field right before its test), so the
    // step does not write it. It reads 8 bytes at the field's offset B (every field starts at least 8 bytes
    // before the header's end) and keeps the field's bytes with Mask. Every comparison with a constant is a
    // range test, true when (v & Mask) - Imm <= Span, unsigned: equality is a range of one value, signed
    // order is unsigned order moved by 2^63, and >, >= and jset are ranges or complements of ranges. The
    // jump stays in place for any other jump that lands on it.
    internal const OpCode First = (OpCode)0x50;
    internal const OpCode
        // The commonest form, run by a loop of its own without the switch: goes on to the next step when the
        // range holds, else jumps to False.
        Test = First,
        // The same test when neither side is the next step: True or False.
        Test2 = First + 1,
        // A field load and jin on it: a set of small values (syscall numbers, errnos) is a bitmap after the
        // steps (Imm: its byte offset from the step, Aux: its words), any other set is searched (Imm: the set).
        LdJinBits = First + 2, LdJin = First + 3,
        // jin on a register, with a bitmap.
        JinBits = First + 4,
        // A string test against a constant of 1..8 bytes: one 8-byte load instead of a span comparison. A is
        // the descriptor offset, B the constant's length, Aux the field's maximum length, Imm the constant's
        // bytes as the high bytes of a little-endian word (the last in the top byte), Mask those bytes.
        JstrEq8 = First + 5, JstrPrefix8 = First + 6;
    internal const OpCode Last = JstrPrefix8;

    /// <summary>The steps, followed by the bitmaps of the sets that have one.</summary>
    public static Step[] Build(ExecInstruction[] exec, SetMatcher[] sets, byte[][] strings)
    {
        var liveIn = LiveRegisters(exec);

        // One step per instruction; a load followed by a test of the loaded register becomes one step.
        var steps = new Step[exec.Length];
        for (int pc = 0; pc < exec.Length; pc++)
        {
            var i = exec[pc];
            var step = new Step(i.Op, i.A, i.B, i.False, i.True, 0, i.Imm);
            if (pc + 1 < exec.Length && Fuse(i, exec[pc + 1], liveIn) is { } fused) step = fused;
            if (step.Op is OpCode.Jin or LdJin && sets[(int)step.Imm].Bitmap is { } map)
                step = step with { Op = step.Op == OpCode.Jin ? JinBits : LdJinBits, Aux = map.Length };
            if (step.Op is OpCode.JstrEq or OpCode.JstrPrefix && strings[(int)step.Imm] is { Length: >= 1 and <= 8 } constant
                && BitConverter.IsLittleEndian)
                step = step with
                {
                    Op = step.Op == OpCode.JstrEq ? JstrEq8 : JstrPrefix8,
                    B = (byte)constant.Length,
                    Aux = RecordLayout.StringAt(step.A)!.MaxLength,
                    Imm = Pack(constant) << 8 * (8 - constant.Length),
                    Mask = ~0UL << 8 * (8 - constant.Length),
                };
            steps[pc] = step;
        }

        // Keep the steps a run can reach: jumps go forward, so one pass from the entry finds them all. A fused
        // load's jump stays only where another jump lands on it.
        var live = new bool[steps.Length];
        live[0] = true;
        for (int pc = 0; pc < steps.Length; pc++)
        {
            if (!live[pc]) continue;
            switch (KindOf(steps[pc].Op))
            {
                case JumpKind.None: live[pc + 1] = true; break;
                case JumpKind.Always: live[steps[pc].True] = true; break;
                case JumpKind.Conditional: live[steps[pc].True] = live[steps[pc].False] = true; break;
            }
        }
        var index = new int[steps.Length];
        int count = 0;
        for (int pc = 0; pc < steps.Length; pc++) index[pc] = live[pc] ? count++ : -1;

        // The bitmaps follow the steps in the same array, so that a bitmap test reaches its words from its step.
        var bitmapAt = new int[sets.Length];
        int words = 0;
        for (int k = 0; k < sets.Length; k++)
        {
            bitmapAt[k] = count * Step.Size + words * sizeof(ulong);
            words += sets[k].Bitmap?.Length ?? 0;
        }
        var result = new Step[count + (words * sizeof(ulong) + Step.Size - 1) / Step.Size];
        var bitmaps = MemoryMarshal.Cast<Step, ulong>(result.AsSpan(count));
        foreach (var set in sets)
            if (set.Bitmap is { } map)
            {
                map.CopyTo(bitmaps);
                bitmaps = bitmaps[map.Length..];
            }

        // Targets become byte offsets from the step, or ~verdict for a jump to a `ret`. A Test whose true side
        // is not the next step has its range complemented and its sides swapped; with neither side next, it is
        // a Test2.
        for (int pc = 0; pc < steps.Length; pc++)
        {
            if (!live[pc]) continue;
            var step = steps[pc];
            int here = index[pc];
            int Target(int to) => exec[to].Op == OpCode.Ret ? ~(int)exec[to].Imm : (index[to] - here) * Step.Size;
            if (step.Op == Test && index[step.True] == here + 1)
                step = step with { False = Target(step.False), True = 0 };
            else if (step.Op == Test && index[step.False] == here + 1)
                step = Complement(step) with { False = Target(step.True), True = 0 };
            else if (step.Op == Test)
                step = step with { Op = Test2, True = Target(step.True), False = Target(step.False) };
            else if (KindOf(step.Op) == JumpKind.Always)
                step = step with { True = Target(step.True) };
            else if (KindOf(step.Op) == JumpKind.Conditional)
                step = step with { True = Target(step.True), False = Target(step.False) };
            if (step.Op is JinBits or LdJinBits) step = step with { Imm = (ulong)(bitmapAt[(int)step.Imm] - here * Step.Size) };
            result[here] = step;
        }
        return result;
    }

    private static JumpKind KindOf(OpCode op) => op >= First ? JumpKind.Conditional : InstructionSet.Get(op).Jump;

    /// <summary>
    /// The step for a field load followed by a compare-and-branch of the loaded register against a constant
    /// or by a jin on it, when no path reads the register after the jump; null for any other pair.
    /// </summary>
    private static Step? Fuse(ExecInstruction load, ExecInstruction jump, ushort[] liveIn)
    {
        int size = load.Op switch { OpCode.Ldb => 1, OpCode.Ldw => 4, OpCode.Lddw => 8, _ => 0 };
        if (size == 0 || KindOf(jump.Op) != JumpKind.Conditional || jump.A != load.A
            || ((liveIn[jump.True] | liveIn[jump.False]) >> load.A & 1) != 0
            || load.Imm > RecordLayout.HeaderSize - 8 || !BitConverter.IsLittleEndian)
            return null;
        ulong bytes = size == 8 ? ~0UL : (1UL << 8 * size) - 1;
        byte offset = (byte)load.Imm;
        if (jump.Op == OpCode.Jin)
            return new Step(LdJin, load.A, offset, jump.False, jump.True, 0, jump.Imm, Mask: bytes);
        const ulong Sign = 1UL << 63;
        ulong k = jump.Imm;
        (ulong Mask, ulong Lo, ulong Span)? range = jump.Op switch
        {
            OpCode.JeqK => (bytes, k, 0),
            OpCode.JgeK => (bytes, k, ~k),                    // v - k <= max - k
            OpCode.JgtK => Complement(bytes, 0, k),           // not v <= k
            OpCode.JsgeK => (bytes, k, ~(k ^ Sign)),          // as JgeK on v ^ S and k ^ S; (v ^ S) - (k ^ S) = v - k
            OpCode.JsgtK => Complement(bytes, Sign, k ^ Sign), // not (v ^ S) <= k ^ S; v ^ S = v - S
            OpCode.JsetK => (bytes & k, 1, ~1UL),             // (v & k) - 1 <= max - 1
            _ => null,
        };
        return range is { } r ? new Step(Test, load.A, offset, jump.False, jump.True, 0, r.Lo, r.Mask, r.Span) : null;
    }

    private static Step Complement(Step s)
    {
        var (mask, lo, span) = Complement(s.Mask, s.Imm, s.Span);
        return s with { Mask = mask, Imm = lo, Span = span };
    }

    /// <summary>
    /// The complement of the range {v : (v &amp; mask) - lo &lt;= span}: the values from lo + span + 1 round to
    /// lo - 1; for the range of every value, no value (mask 0 makes the difference -1).
    /// </summary>
    private static (ulong Mask, ulong Lo, ulong Span) Complement(ulong mask, ulong lo, ulong span) =>
        span == ~0UL ? (0, 1, 0) : (mask, lo + span + 1, ~span - 1);

    /// <summary>
    /// For each pc, the registers (bit n: rn) that some path from it reads before writing. Jumps go forward,
    /// so one backward pass computes it.
    /// </summary>
    internal static ushort[] LiveRegisters(ExecInstruction[] exec)
    {
        var liveIn = new ushort[exec.Length];
        for (int pc = exec.Length - 1; pc >= 0; pc--)
        {
            var i = exec[pc];
            var info = InstructionSet.Get(i.Op);
            int after = info.Jump switch
            {
                JumpKind.None => liveIn[pc + 1],
                JumpKind.Always => liveIn[i.True],
                JumpKind.Conditional => liveIn[i.True] | liveIn[i.False],
                _ => 0,
            };
            int written = 0, read = 0;
            void Note(Operand operand, byte register)
            {
                if (operand is Operand.RegWrite or Operand.RegReadWrite) written |= 1 << register;
                if (operand is Operand.RegRead or Operand.RegReadWrite) read |= 1 << register;
            }
            Note(info.A, i.A);
            Note(info.B, i.B);
            liveIn[pc] = (ushort)(after & ~written | read);
        }
        return liveIn;
    }

    private static ulong Pack(byte[] constant)
    {
        ulong v = 0;
        for (int k = constant.Length - 1; k >= 0; k--) v = v << 8 | constant[k];
        return v;
    }
}
