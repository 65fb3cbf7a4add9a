using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Filter.VM;

/// <summary>
/// The interpreter's own step codes: the steps that stand for more than one instruction or for a common case of
/// one (<see cref="InterpreterCode"/>), and one per opcode. Dense from 0, so that each of the interpreter's
/// switches is one jump table. The steps that write no register come first, up to <see cref="Ret"/>: the
/// interpreter's inner loop runs those and hands any other to the loop with the registers, and so tests one
/// bound.
/// </summary>
internal enum StepOp : byte
{
    // ---- Steps that are not bytecode ---------------------------------------------------------------------
    // An interpreter's cost is its dispatch, so the commonest pairs and constants get steps of their own.
    //
    // A field load and the compare-and-branch after it (`ldw r0, [arch]; jeq r0, #...`) are one step when no
    // path reads the register after the jump (the compiler loads each field right before its test), so the
    // step does not write it. It reads 8 bytes at the field's offset B (every field starts at least 8 bytes
    // before the header's end) and keeps the field's bytes with Mask. Every comparison with a constant is a
    // range test, true when (v & Mask) - Imm <= Span, unsigned: equality is a range of one value, signed
    // order is unsigned order moved by 2^63, and >, >= and jset are ranges or complements of ranges. The
    // jump stays in place for any other jump that lands on it.

    /// <summary>The commonest form, run by a loop of its own without the switch: goes on to the next step when
    /// the range holds, else jumps to False.</summary>
    Test,
    /// <summary>The same test when neither side is the next step: True or False.</summary>
    Test2,
    /// <summary>A field load and jin on it with a set of small values (syscall numbers, errnos), a bitmap after the
    /// steps (Imm: its byte offset from the step, Aux: its words).</summary>
    LdJinBits,
    /// <summary>A field load (B: its offset, Mask: its bytes) and a jswitch on it, with a table (see <see cref="SwitchTable"/>).</summary>
    LdSwitchTable,
    /// <summary>A string test against a constant of 1..8 bytes: one 8-byte load instead of a span comparison. A is
    /// the descriptor offset, B the constant's length, Span how much longer the string may be (0 for equality, the
    /// field's maximum length less B otherwise), Imm the constant's bytes as the high bytes of a little-endian word
    /// (the last in the top byte), Mask those bytes. A suffix or an equality reads the 8 bytes that end where the
    /// string does, a prefix those that end at the string's B-th byte.</summary>
    JstrEq8, JstrPrefix8, JstrSuffix8,

    // ---- One step per opcode: ret (the last step that writes no register), then the rest -------------------
    Ret, Ldb, Ldw, Lddw,
    MovK, MovX, AddK, AddX, SubK, SubX, AndK, AndX, OrK, OrX, XorK, XorX,
    LshK, LshX, RshK, RshX, ArshK, ArshX, Neg, Not,
    Ja, JeqK, JeqX, JgtK, JgtX, JgeK, JgeX, JsgtK, JsgtX, JsgeK, JsgeX, JsetK, JsetX,
    Jin, JstrEq, JstrPrefix, JstrSuffix, JstrContains, Jswitch,

    // ---- Steps that are not bytecode and read a register or a set ------------------------------------------
    /// <summary>A field load and jin on it with any other set, which is searched (Imm: the set).</summary>
    LdJin,
    /// <summary>jin on a register, with a bitmap.</summary>
    JinBits,
    /// <summary>A jswitch on a set of small values (syscall numbers): a table of every value's target after the
    /// steps (Imm: its byte offset from the step, Aux: its entries), each entry a target as the step's own are
    /// (through any ja), so that the case is one load; a value past the table goes to False.</summary>
    SwitchTable,
}

/// <summary>
/// One instruction in the interpreter's form (40 bytes). B is 16 bits (a register, a constant's length, or a
/// field's offset: the header is longer than 256 bytes), in what would otherwise be padding. Jump targets are byte offsets from the step itself,
/// so taking a jump is one add; a target that is a <c>ret #v</c> is stored as ~v (negative: targets are
/// forward), and the interpreter returns it without dispatching the <c>ret</c>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal readonly record struct Step(StepOp Op, byte A, ushort B, int False, int True, int Aux, ulong Imm, ulong Mask = 0, ulong Span = 0)
{
    public static readonly int Size = Unsafe.SizeOf<Step>();
}

/// <summary>
/// A verified program in the interpreter's form: its steps (followed by the bitmaps of the sets that have
/// one), and the sets and strings the other steps read. Built on first use, once per program, so callers
/// that only ever use the JIT never pay for it.
/// </summary>
internal sealed class InterpreterProgram
{
    public static InterpreterProgram Of(VerifiedProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        return program.Derived(static p => new InterpreterProgram(ProgramForm.Of(p)));
    }

    public readonly Step[] Steps;
    public readonly SetMatcher[] Sets;
    public readonly byte[][] Strings;

    private InterpreterProgram(ProgramForm form)
    {
        Steps = InterpreterCode.Build(form.Exec, form.Sets, form.Strings);
        Sets = form.Sets;
        Strings = form.Strings;
    }
}

/// <summary>
/// Builds a verified program's form for the interpreter (spec/bytecode.md, "The interpreter's form"), once per
/// program from the verified instructions: every step computes what the instructions it stands for compute,
/// and every index it holds (registers, field offsets, bitmap words, targets) was checked by the verifier or
/// here, so the interpreter uses them without bounds checks. Sets and strings stay the program's.
/// </summary>
internal static class InterpreterCode
{
    /// <summary>
    /// Each opcode's own step. A switch expression with no default arm: an opcode without a step here is a
    /// compile error (CS8509), so a new row of the instruction table cannot reach the interpreter unhandled.
    /// </summary>
    public static StepOp StepOf(OpCode op) => op switch
    {
        OpCode.Ret => StepOp.Ret,
        OpCode.Ldb => StepOp.Ldb, OpCode.Ldw => StepOp.Ldw, OpCode.Lddw => StepOp.Lddw,
        OpCode.MovK => StepOp.MovK, OpCode.MovX => StepOp.MovX,
        OpCode.AddK => StepOp.AddK, OpCode.AddX => StepOp.AddX, OpCode.SubK => StepOp.SubK, OpCode.SubX => StepOp.SubX,
        OpCode.AndK => StepOp.AndK, OpCode.AndX => StepOp.AndX, OpCode.OrK => StepOp.OrK, OpCode.OrX => StepOp.OrX,
        OpCode.XorK => StepOp.XorK, OpCode.XorX => StepOp.XorX,
        OpCode.LshK => StepOp.LshK, OpCode.LshX => StepOp.LshX, OpCode.RshK => StepOp.RshK, OpCode.RshX => StepOp.RshX,
        OpCode.ArshK => StepOp.ArshK, OpCode.ArshX => StepOp.ArshX,
        OpCode.Neg => StepOp.Neg, OpCode.Not => StepOp.Not,
        OpCode.Ja => StepOp.Ja,
        OpCode.JeqK => StepOp.JeqK, OpCode.JeqX => StepOp.JeqX, OpCode.JgtK => StepOp.JgtK, OpCode.JgtX => StepOp.JgtX,
        OpCode.JgeK => StepOp.JgeK, OpCode.JgeX => StepOp.JgeX, OpCode.JsgtK => StepOp.JsgtK, OpCode.JsgtX => StepOp.JsgtX,
        OpCode.JsgeK => StepOp.JsgeK, OpCode.JsgeX => StepOp.JsgeX, OpCode.JsetK => StepOp.JsetK, OpCode.JsetX => StepOp.JsetX,
        OpCode.Jin => StepOp.Jin, OpCode.JstrEq => StepOp.JstrEq, OpCode.JstrPrefix => StepOp.JstrPrefix,
        OpCode.JstrSuffix => StepOp.JstrSuffix, OpCode.JstrContains => StepOp.JstrContains,
        OpCode.Jswitch => StepOp.Jswitch,
    };

    /// <summary>The steps, followed by the bitmaps of the sets that have one.</summary>
    public static Step[] Build(ExecInstruction[] exec, SetMatcher[] sets, byte[][] strings)
    {
        var liveIn = RegisterLiveness.LiveIn(exec);

        // One step per instruction; a load followed by a test of the loaded register becomes one step.
        var steps = new Step[exec.Length];
        for (int pc = 0; pc < exec.Length; pc++)
        {
            var i = exec[pc];
            var step = new Step(StepOf(i.Op), i.A, i.B, i.False, i.True, 0, i.Imm);
            if (pc + 1 < exec.Length && Fuse(i, exec[pc + 1], liveIn) is { } fused) step = fused;
            if (step.Op is StepOp.Jswitch && SwitchTable.Fits(sets[(int)step.Imm].Set))
                step = step with { Op = StepOp.SwitchTable };
            if (pc + 1 < exec.Length && step.Op is StepOp.Ldb or StepOp.Ldw or StepOp.Lddw && FuseSwitch(i, exec[pc + 1], liveIn, sets) is { } table)
                step = table;
            if (step.Op is StepOp.Jin or StepOp.LdJin && sets[(int)step.Imm].Bitmap is { } map)
                step = step with { Op = step.Op == StepOp.Jin ? StepOp.JinBits : StepOp.LdJinBits, Aux = map.Length };
            // Every string step keeps the field's maximum length, to check the descriptor against.
            if (step.Op is StepOp.JstrEq or StepOp.JstrPrefix or StepOp.JstrSuffix or StepOp.JstrContains)
                step = step with { Aux = RecordLayout.StringAt(step.A)!.MaxLength };
            if (step.Op is StepOp.JstrEq or StepOp.JstrPrefix or StepOp.JstrSuffix && strings[(int)step.Imm] is { Length: >= 1 and <= 8 } constant
                && constant.Length <= step.Aux && BitConverter.IsLittleEndian)
                step = step with
                {
                    Op = step.Op switch { StepOp.JstrEq => StepOp.JstrEq8, StepOp.JstrPrefix => StepOp.JstrPrefix8, _ => StepOp.JstrSuffix8 },
                    B = (ushort)constant.Length,
                    Imm = Pack(constant) << 8 * (8 - constant.Length),
                    Mask = ~0UL << 8 * (8 - constant.Length),
                    // How much longer than the constant the string may be.
                    Span = step.Op == StepOp.JstrEq ? 0 : (ulong)(step.Aux - constant.Length),
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
            switch (KindOf(steps[pc].Op, exec[pc].Op))
            {
                case JumpKind.None: live[pc + 1] = true; break;
                case JumpKind.Always: live[steps[pc].True] = true; break;
                case JumpKind.Conditional: live[steps[pc].True] = live[steps[pc].False] = true; break;
                case JumpKind.Switch:
                    live[steps[pc].False] = true;
                    live.AsSpan(steps[pc].True, SwitchOf(exec, pc).Cases).Fill(true);
                    break;
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
        // Then the switch tables, an int per value.
        var tableAt = new int[steps.Length];
        int entries = 0;
        for (int pc = 0; pc < steps.Length; pc++)
            if (live[pc] && steps[pc].Op is StepOp.SwitchTable or StepOp.LdSwitchTable)
            {
                tableAt[pc] = count * Step.Size + words * sizeof(ulong) + entries * sizeof(int);
                entries += SwitchTable.Length(sets[(int)steps[pc].Imm].Set);
            }
        var result = new Step[count + (words * sizeof(ulong) + entries * sizeof(int) + Step.Size - 1) / Step.Size];
        var bitmaps = MemoryMarshal.Cast<Step, ulong>(result.AsSpan(count));
        foreach (var set in sets)
            if (set.Bitmap is { } map)
            {
                map.CopyTo(bitmaps);
                bitmaps = bitmaps[map.Length..];
            }
        var tables = MemoryMarshal.Cast<byte, int>(MemoryMarshal.AsBytes(result.AsSpan(count)).Slice(words * sizeof(ulong)));

        // Targets become byte offsets from the step, or ~verdict for a jump to a `ret`. A Test whose true side
        // is not the next step has its range complemented and its sides swapped; with neither side next, it is
        // a Test2.
        for (int pc = 0; pc < steps.Length; pc++)
        {
            if (!live[pc]) continue;
            var step = steps[pc];
            int here = index[pc];
            int Target(int to) => exec[to].Op == OpCode.Ret ? ~(int)exec[to].Imm : (index[to] - here) * Step.Size;
            if (step.Op == StepOp.Test && index[step.True] == here + 1)
                step = step with { False = Target(step.False), True = 0 };
            else if (step.Op == StepOp.Test && index[step.False] == here + 1)
                step = Complement(step) with { False = Target(step.True), True = 0 };
            else if (step.Op == StepOp.Test)
                step = step with { Op = StepOp.Test2, True = Target(step.True), False = Target(step.False) };
            else if (KindOf(step.Op, exec[pc].Op) == JumpKind.Always)
                step = step with { True = Target(step.True) };
            else if (KindOf(step.Op, exec[pc].Op) == JumpKind.Conditional)
                step = step with { True = Target(step.True), False = Target(step.False) };
            else if (step.Op == StepOp.Jswitch)
                // Case c is the step c after the first case's: an offset, never a verdict.
                step = step with { True = (index[step.True] - here) * Step.Size, False = Target(step.False) };
            else if (step.Op is StepOp.SwitchTable or StepOp.LdSwitchTable)
            {
                var table = tables.Slice((tableAt[pc] - count * Step.Size - words * sizeof(ulong)) / sizeof(int), SwitchTable.Length(sets[(int)step.Imm].Set));
                int otherwise = Target(step.False);
                table.Fill(otherwise);
                var ranges = sets[(int)step.Imm].Set.Ranges;
                for (int c = 0; c < ranges.Count; c++)
                    table.Slice((int)ranges[c].Lo, (int)(ranges[c].Hi - ranges[c].Lo + 1)).Fill(Target(ThroughJumps(exec, step.True + c)));
                step = step with { Imm = (ulong)(tableAt[pc] - here * Step.Size), Aux = table.Length, True = 0, False = otherwise };
            }
            if (step.Op is StepOp.JinBits or StepOp.LdJinBits) step = step with { Imm = (ulong)(bitmapAt[(int)step.Imm] - here * Step.Size) };
            result[here] = step;
        }
        return result;
    }

    /// <summary>How a step at a pc of <paramref name="op"/> jumps: as the opcode does, or, for a fused step, as the jump it stands for.</summary>
    private static JumpKind KindOf(StepOp step, OpCode op) => step switch
    {
        StepOp.SwitchTable or StepOp.LdSwitchTable => JumpKind.Switch,
        StepOp.Test or StepOp.Test2 or StepOp.LdJinBits or StepOp.LdJin or StepOp.JinBits
            or StepOp.JstrEq8 or StepOp.JstrPrefix8 or StepOp.JstrSuffix8 => JumpKind.Conditional,
        _ => InstructionSet.Get(op).Jump,
    };

    /// <summary>The jswitch a switch step at <paramref name="pc"/> stands for: the instruction itself, or the one after its fused load.</summary>
    private static ExecInstruction SwitchOf(ExecInstruction[] exec, int pc) => exec[pc].Op == OpCode.Jswitch ? exec[pc] : exec[pc + 1];

    /// <summary>Where a jump to <paramref name="pc"/> ends up after any ja.</summary>
    private static int ThroughJumps(ExecInstruction[] exec, int pc)
    {
        while (exec[pc].Op == OpCode.Ja) pc = exec[pc].True;
        return pc;
    }

    /// <summary>A field load followed by a jswitch on the loaded register with a table, when no case reads the register.</summary>
    private static Step? FuseSwitch(ExecInstruction load, ExecInstruction jump, ushort[] liveIn, SetMatcher[] sets)
    {
        int size = InstructionSet.Get(load.Op).LoadSize;
        if (jump.Op != OpCode.Jswitch || jump.A != load.A || !SwitchTable.Fits(sets[(int)jump.Imm].Set)
            || load.Imm > RecordLayout.HeaderSize - 8 || !BitConverter.IsLittleEndian)
            return null;
        int live = liveIn[jump.False];
        for (int c = 0; c < jump.Cases; c++) live |= liveIn[jump.True + c];
        if ((live >> load.A & 1) != 0) return null;
        return new Step(StepOp.LdSwitchTable, load.A, (ushort)load.Imm, jump.False, jump.True, 0, jump.Imm, Mask: size == 8 ? ~0UL : (1UL << 8 * size) - 1);
    }

    /// <summary>
    /// The step for a field load followed by a compare-and-branch of the loaded register against a constant
    /// or by a jin on it, when no path reads the register after the jump; null for any other pair.
    /// </summary>
    private static Step? Fuse(ExecInstruction load, ExecInstruction jump, ushort[] liveIn)
    {
        int size = InstructionSet.Get(load.Op).LoadSize;
        if (size == 0 || InstructionSet.Get(jump.Op).Jump != JumpKind.Conditional || jump.A != load.A
            || ((liveIn[jump.True] | liveIn[jump.False]) >> load.A & 1) != 0
            || load.Imm > RecordLayout.HeaderSize - 8 || !BitConverter.IsLittleEndian)
            return null;
        ulong bytes = size == 8 ? ~0UL : (1UL << 8 * size) - 1;
        ushort offset = (ushort)load.Imm;
        if (jump.Op == OpCode.Jin)
            return new Step(StepOp.LdJin, load.A, offset, jump.False, jump.True, 0, jump.Imm, Mask: bytes);
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
        return range is { } r ? new Step(StepOp.Test, load.A, offset, jump.False, jump.True, 0, r.Lo, r.Mask, r.Span) : null;
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

    private static ulong Pack(byte[] constant)
    {
        ulong v = 0;
        for (int k = constant.Length - 1; k >= 0; k--) v = v << 8 | constant[k];
        return v;
    }
}
