using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Filter.VM;

/// <summary>
/// Runs a verified program over one record. Allocates nothing: registers live on the stack and every
/// access the verifier proved in range (pcs, registers, field offsets, set and string indices) is made
/// without a second bounds check.
/// </summary>
public static class Interpreter
{
    /// <summary>Returns the verdict: 0 for no match, otherwise the number of the deciding rule.</summary>
    [SkipLocalsInit]
    public static uint Run(VerifiedProgram program, Record record)
    {
        // The verifier proved no register is read before it is written, so the slots need no zeroing; an
        // inline array rather than stackalloc spares each call the stack probe and the buffer-overrun cookie.
        Unsafe.SkipInit(out Registers regs);
        ref ulong r = ref regs[0];
        ref byte rec = ref record.Start;
        ref ExecInstruction code = ref MemoryMarshal.GetArrayDataReference(program.Interpreted);
        int pc = 0;
        while (true)
        {
            ref readonly ExecInstruction i = ref Unsafe.Add(ref code, pc);
            switch (i.Op)
            {
                case OpCode.Ret: return (uint)i.Imm;

                case OpCode.Ldb: Reg(ref r, i.A) = Unsafe.Add(ref rec, (nint)i.Imm); pc++; break;
                case OpCode.Ldw: Reg(ref r, i.A) = LoadU32(ref rec, i.Imm); pc++; break;
                case OpCode.Lddw: Reg(ref r, i.A) = LoadU64(ref rec, i.Imm); pc++; break;

                case OpCode.MovK: Reg(ref r, i.A) = i.Imm; pc++; break;
                case OpCode.MovX: Reg(ref r, i.A) = Reg(ref r, i.B); pc++; break;
                case OpCode.AddK: Reg(ref r, i.A) += i.Imm; pc++; break;
                case OpCode.AddX: Reg(ref r, i.A) += Reg(ref r, i.B); pc++; break;
                case OpCode.SubK: Reg(ref r, i.A) -= i.Imm; pc++; break;
                case OpCode.SubX: Reg(ref r, i.A) -= Reg(ref r, i.B); pc++; break;
                case OpCode.AndK: Reg(ref r, i.A) &= i.Imm; pc++; break;
                case OpCode.AndX: Reg(ref r, i.A) &= Reg(ref r, i.B); pc++; break;
                case OpCode.OrK: Reg(ref r, i.A) |= i.Imm; pc++; break;
                case OpCode.OrX: Reg(ref r, i.A) |= Reg(ref r, i.B); pc++; break;
                case OpCode.XorK: Reg(ref r, i.A) ^= i.Imm; pc++; break;
                case OpCode.XorX: Reg(ref r, i.A) ^= Reg(ref r, i.B); pc++; break;
                case OpCode.LshK: Reg(ref r, i.A) = Semantics.Lsh(Reg(ref r, i.A), i.Imm); pc++; break;
                case OpCode.LshX: Reg(ref r, i.A) = Semantics.Lsh(Reg(ref r, i.A), Reg(ref r, i.B)); pc++; break;
                case OpCode.RshK: Reg(ref r, i.A) = Semantics.Rsh(Reg(ref r, i.A), i.Imm); pc++; break;
                case OpCode.RshX: Reg(ref r, i.A) = Semantics.Rsh(Reg(ref r, i.A), Reg(ref r, i.B)); pc++; break;
                case OpCode.ArshK: Reg(ref r, i.A) = Semantics.Arsh(Reg(ref r, i.A), i.Imm); pc++; break;
                case OpCode.ArshX: Reg(ref r, i.A) = Semantics.Arsh(Reg(ref r, i.A), Reg(ref r, i.B)); pc++; break;
                case OpCode.Neg: Reg(ref r, i.A) = 0 - Reg(ref r, i.A); pc++; break;
                case OpCode.Not: Reg(ref r, i.A) = ~Reg(ref r, i.A); pc++; break;

                case OpCode.Ja: pc = i.True; break;
                case OpCode.JeqK: pc = Reg(ref r, i.A) == i.Imm ? i.True : i.False; break;
                case OpCode.JeqX: pc = Reg(ref r, i.A) == Reg(ref r, i.B) ? i.True : i.False; break;
                case OpCode.JgtK: pc = Reg(ref r, i.A) > i.Imm ? i.True : i.False; break;
                case OpCode.JgtX: pc = Reg(ref r, i.A) > Reg(ref r, i.B) ? i.True : i.False; break;
                case OpCode.JgeK: pc = Reg(ref r, i.A) >= i.Imm ? i.True : i.False; break;
                case OpCode.JgeX: pc = Reg(ref r, i.A) >= Reg(ref r, i.B) ? i.True : i.False; break;
                case OpCode.JsgtK: pc = (long)Reg(ref r, i.A) > (long)i.Imm ? i.True : i.False; break;
                case OpCode.JsgtX: pc = (long)Reg(ref r, i.A) > (long)Reg(ref r, i.B) ? i.True : i.False; break;
                case OpCode.JsgeK: pc = (long)Reg(ref r, i.A) >= (long)i.Imm ? i.True : i.False; break;
                case OpCode.JsgeX: pc = (long)Reg(ref r, i.A) >= (long)Reg(ref r, i.B) ? i.True : i.False; break;
                case OpCode.JsetK: pc = (Reg(ref r, i.A) & i.Imm) != 0 ? i.True : i.False; break;
                case OpCode.JsetX: pc = (Reg(ref r, i.A) & Reg(ref r, i.B)) != 0 ? i.True : i.False; break;
                case OpCode.Jin:
                    pc = program.Sets[(int)i.Imm].Contains(Reg(ref r, i.A)) ? i.True : i.False;
                    break;
                case OpCode.JstrEq:
                    pc = Semantics.StringField(record, i.A).SequenceEqual(program.Strings[(int)i.Imm]) ? i.True : i.False;
                    break;
                case OpCode.JstrPrefix:
                    pc = Semantics.StringField(record, i.A).StartsWith(program.Strings[(int)i.Imm]) ? i.True : i.False;
                    break;

                case LdbJeqK: { ulong v = Unsafe.Add(ref rec, (nint)i.B); Reg(ref r, i.A) = v; pc = v == i.Imm ? i.True : i.False; break; }
                case LdwJeqK: { ulong v = LoadU32(ref rec, i.B); Reg(ref r, i.A) = v; pc = v == i.Imm ? i.True : i.False; break; }
                case LdwJgtK: { ulong v = LoadU32(ref rec, i.B); Reg(ref r, i.A) = v; pc = v > i.Imm ? i.True : i.False; break; }
                case LdwJgeK: { ulong v = LoadU32(ref rec, i.B); Reg(ref r, i.A) = v; pc = v >= i.Imm ? i.True : i.False; break; }
                case LdwJsgtK: { ulong v = LoadU32(ref rec, i.B); Reg(ref r, i.A) = v; pc = (long)v > (long)i.Imm ? i.True : i.False; break; }
                case LdwJsgeK: { ulong v = LoadU32(ref rec, i.B); Reg(ref r, i.A) = v; pc = (long)v >= (long)i.Imm ? i.True : i.False; break; }
                case LdwJsetK: { ulong v = LoadU32(ref rec, i.B); Reg(ref r, i.A) = v; pc = (v & i.Imm) != 0 ? i.True : i.False; break; }
                case LdwJin: { ulong v = LoadU32(ref rec, i.B); Reg(ref r, i.A) = v; pc = program.Sets[(int)i.Imm].Contains(v) ? i.True : i.False; break; }
                case LddwJeqK: { ulong v = LoadU64(ref rec, i.B); Reg(ref r, i.A) = v; pc = v == i.Imm ? i.True : i.False; break; }
                case LddwJgtK: { ulong v = LoadU64(ref rec, i.B); Reg(ref r, i.A) = v; pc = v > i.Imm ? i.True : i.False; break; }
                case LddwJgeK: { ulong v = LoadU64(ref rec, i.B); Reg(ref r, i.A) = v; pc = v >= i.Imm ? i.True : i.False; break; }
                case LddwJsgtK: { ulong v = LoadU64(ref rec, i.B); Reg(ref r, i.A) = v; pc = (long)v > (long)i.Imm ? i.True : i.False; break; }
                case LddwJsgeK: { ulong v = LoadU64(ref rec, i.B); Reg(ref r, i.A) = v; pc = (long)v >= (long)i.Imm ? i.True : i.False; break; }
                case LddwJsetK: { ulong v = LoadU64(ref rec, i.B); Reg(ref r, i.A) = v; pc = (v & i.Imm) != 0 ? i.True : i.False; break; }
                case LddwJin: { ulong v = LoadU64(ref rec, i.B); Reg(ref r, i.A) = v; pc = program.Sets[(int)i.Imm].Contains(v) ? i.True : i.False; break; }

                default:
                    // Unreachable for a verified program; a new opcode without a case here fails the
                    // every-opcode test instead of running on.
                    return NoCase(i.Op);
            }
            // A jump straight to a `ret` carries its verdict as ~verdict (see Fuse): no dispatch for the ret.
            if (pc < 0) return (uint)~pc;
        }
    }

    // ---- Superinstructions -------------------------------------------------------------------------------
    // The interpreter's cost is its dispatch, and the compiler's commonest pair is a field load followed at
    // once by a compare-and-branch on the loaded register (`ldw r1, [arch]; jeq r1, #...`). Fuse turns the
    // load into one instruction doing both: it still writes the register, and the jump stays in place at
    // pc + 1 for any other jump into it, so every path computes what the bytecode says. These codes exist
    // only in the interpreter's copy of a verified program; they are not bytecode (spec/bytecode.md).
    // They follow the last opcode directly: the switch compiles to one jump table only over dense codes.
    internal const OpCode FirstFused = (OpCode)0x50;
    private const OpCode LdbJeqK = FirstFused,
        LdwJeqK = FirstFused + 1, LdwJgtK = FirstFused + 2, LdwJgeK = FirstFused + 3, LdwJsgtK = FirstFused + 4,
        LdwJsgeK = FirstFused + 5, LdwJsetK = FirstFused + 6, LdwJin = FirstFused + 7,
        LddwJeqK = FirstFused + 8, LddwJgtK = FirstFused + 9, LddwJgeK = FirstFused + 10, LddwJsgtK = FirstFused + 11,
        LddwJsgeK = FirstFused + 12, LddwJsetK = FirstFused + 13, LddwJin = FirstFused + 14;

    private static readonly Dictionary<(OpCode Load, OpCode Jump), OpCode> Fusions = new()
    {
        [(OpCode.Ldb, OpCode.JeqK)] = LdbJeqK, // booleans: success, type
        [(OpCode.Ldw, OpCode.JeqK)] = LdwJeqK, [(OpCode.Ldw, OpCode.JgtK)] = LdwJgtK, [(OpCode.Ldw, OpCode.JgeK)] = LdwJgeK,
        [(OpCode.Ldw, OpCode.JsgtK)] = LdwJsgtK, [(OpCode.Ldw, OpCode.JsgeK)] = LdwJsgeK, [(OpCode.Ldw, OpCode.JsetK)] = LdwJsetK,
        [(OpCode.Ldw, OpCode.Jin)] = LdwJin,
        [(OpCode.Lddw, OpCode.JeqK)] = LddwJeqK, [(OpCode.Lddw, OpCode.JgtK)] = LddwJgtK, [(OpCode.Lddw, OpCode.JgeK)] = LddwJgeK,
        [(OpCode.Lddw, OpCode.JsgtK)] = LddwJsgtK, [(OpCode.Lddw, OpCode.JsgeK)] = LddwJsgeK, [(OpCode.Lddw, OpCode.JsetK)] = LddwJsetK,
        [(OpCode.Lddw, OpCode.Jin)] = LddwJin,
    };

    /// <summary>
    /// The interpreter's copy of a verified program's instructions: load + jump pairs fused, and every jump
    /// target that is a `ret #v` replaced by ~v (negative: pcs are not), which the loop returns at once.
    /// </summary>
    internal static ExecInstruction[] Fuse(ExecInstruction[] exec)
    {
        var fused = (ExecInstruction[])exec.Clone();
        for (int pc = 0; pc + 1 < exec.Length; pc++)
        {
            ExecInstruction load = exec[pc], jump = exec[pc + 1];
            // The field offset goes in B, unused by a jump with a constant (every field is in the 128-byte header).
            if (jump.A == load.A && load.Imm <= byte.MaxValue && Fusions.TryGetValue((load.Op, jump.Op), out var op))
                fused[pc] = jump with { Op = op, B = (byte)load.Imm };
        }
        for (int pc = 0; pc < fused.Length; pc++)
        {
            var i = fused[pc];
            var jump = i.Op >= FirstFused ? JumpKind.Conditional : InstructionSet.Get(i.Op).Jump;
            if (jump == JumpKind.Always) fused[pc] = i with { True = ReturnOrPc(exec, i.True) };
            else if (jump == JumpKind.Conditional) fused[pc] = i with { True = ReturnOrPc(exec, i.True), False = ReturnOrPc(exec, i.False) };
        }
        return fused;
    }

    // Verdicts are at most ProgramLimits.MaxVerdicts (65535), so ~verdict is a negative int.
    private static int ReturnOrPc(ExecInstruction[] exec, int target) =>
        exec[target].Op == OpCode.Ret ? ~(int)exec[target].Imm : target;

    // Out of line, so that building the message costs the dispatch loop nothing (no spilled locals).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static uint NoCase(OpCode op) => throw new InvalidOperationException($"interpreter has no case for opcode {op}");

    /// <summary>True when the verdict is non-zero.</summary>
    public static bool Matches(VerifiedProgram program, Record record) => Run(program, record) != 0;

    /// <summary>
    /// <see cref="Run"/> on every record of the batch, verdict i into <c>verdicts[i]</c>; returns the number
    /// of non-zero verdicts (see <see cref="IRecordFilter.RunBatch"/>). The interpreter's cost is the
    /// dispatch per instruction, so a plain loop over <see cref="Run"/> loses nothing worth a second copy.
    /// </summary>
    public static int RunBatch(VerifiedProgram program, RecordBatch batch, Span<uint> verdicts)
    {
        ArgumentNullException.ThrowIfNull(program);
        batch.CheckOutput(verdicts.Length, nameof(verdicts));
        int matches = 0;
        for (int i = 0; i < batch.Count; i++)
        {
            uint verdict = Run(program, batch[i]);
            verdicts[i] = verdict;
            if (verdict != 0) matches++;
        }
        return matches;
    }

    /// <summary>The indices of the batch's matching records, in order (see <see cref="IRecordFilter.MatchIndices"/>).</summary>
    public static int MatchIndices(VerifiedProgram program, RecordBatch batch, Span<int> indices)
    {
        ArgumentNullException.ThrowIfNull(program);
        batch.CheckOutput(indices.Length, nameof(indices));
        int matches = 0;
        for (int i = 0; i < batch.Count; i++)
            if (Run(program, batch[i]) != 0) indices[matches++] = i;
        return matches;
    }

    [InlineArray(InstructionSet.RegisterCount)]
    private struct Registers
    {
        private ulong _r0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref ulong Reg(ref ulong r, byte index) => ref Unsafe.Add(ref r, index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong LoadU32(ref byte rec, ulong offset)
    {
        uint v = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref rec, (nint)offset));
        return BitConverter.IsLittleEndian ? v : BinaryPrimitives.ReverseEndianness(v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong LoadU64(ref byte rec, ulong offset)
    {
        ulong v = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref rec, (nint)offset));
        return BitConverter.IsLittleEndian ? v : BinaryPrimitives.ReverseEndianness(v);
    }
}
