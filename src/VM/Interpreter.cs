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
        // The verifier proved no register is read before it is written, so the stack slots need no zeroing.
        Span<ulong> regs = stackalloc ulong[InstructionSet.RegisterCount];
        ref ulong r = ref MemoryMarshal.GetReference(regs);
        ref byte rec = ref record.Start;
        ref ExecInstruction code = ref MemoryMarshal.GetArrayDataReference(program.Exec);
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

                default:
                    // Unreachable for a verified program; a new opcode without a case here fails the
                    // every-opcode test instead of running on.
                    throw new InvalidOperationException($"interpreter has no case for opcode {i.Op}");
            }
        }
    }

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
