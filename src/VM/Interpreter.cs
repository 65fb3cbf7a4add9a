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
    /// <remarks>
    /// Looks up the program's interpreter form (built on first use); a caller running many records keeps an
    /// <see cref="InterpretedFilter"/> (from <see cref="RecordFilters.Create"/>), which holds it.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static uint Run(VerifiedProgram program, Record record) => Run(InterpreterProgram.Of(program), record);

    /// <remarks>
    /// Inlined into its callers (<see cref="InterpretedFilter.Run"/>, the batch loops), which saves the call
    /// per record. This method and every caller it is inlined into are compiled once, fully optimised,
    /// without tiering (AggressiveOptimization): profile-guided code tuned to whichever program ran first
    /// (its hot case moved ahead of the switch) made every other program up to 1.6x slower, and one process
    /// runs many programs (one per subscriber).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    internal static uint Run(InterpreterProgram program, Record record)
    {
        // The steps that write no register (a field's test, its set or switch, a short string's test, ret)
        // run here, with no register file and no machine register to save: most programs are only such
        // steps, so they run in their caller's frame. The first step of any other kind goes on in
        // RunRegisters with the same state (no register has been written, and none of these steps reads one).
        ref byte rec = ref record.Start;
        int length = record.Bytes.Length;
        // A Record is at least the header long.
        ulong body = (uint)(length - RecordLayout.HeaderSize);
        ref Step s = ref MemoryMarshal.GetArrayDataReference(program.Steps);
        int next;
        while (true)
        {
            if (s.Op == StepOp.Test)
            {
                // Tested at the bottom, so that each test is one taken branch at most.
                do
                {
                    if ((LoadU64(ref rec, s.B) & s.Mask) - s.Imm <= s.Span)
                    {
                        s = ref Unsafe.Add(ref s, 1);
                    }
                    else
                    {
                        if (s.False < 0) return (uint)~s.False;
                        s = ref Unsafe.AddByteOffset(ref s, s.False);
                    }
                } while (s.Op == StepOp.Test);
            }
            // The steps from Test to Ret (StepOp), so one jump table behind one bound.
            switch (s.Op)
            {
                case StepOp.Test: continue; // not reached (the loop above ran it), but keeps the table dense
                case StepOp.Test2: next = Pick(in s, (LoadU64(ref rec, s.B) & s.Mask) - s.Imm <= s.Span); break;
                case StepOp.LdJinBits: next = Pick(in s, InBits(in s, LoadU64(ref rec, s.B) & s.Mask)); break;
                case StepOp.LdSwitchTable: next = TableCase(in s, LoadU64(ref rec, s.B) & s.Mask); break;
                case StepOp.JstrPrefix8: next = Pick(in s, SmallString(ref rec, body, in s, prefix: true)); break;
                case StepOp.JstrEq8 or StepOp.JstrSuffix8: next = Pick(in s, SmallString(ref rec, body, in s, prefix: false)); break;
                case StepOp.Ret: return (uint)s.Imm;
                default: return RunRegisters(program, ref rec, length, ref s);
            }
            if (next < 0) return (uint)~next;
            s = ref Unsafe.AddByteOffset(ref s, next);
        }
    }

    /// <summary>
    /// <see cref="Run"/> from step <paramref name="s"/> on, for every step: the registers live here, on the
    /// stack, and this frame saves the machine registers the larger loop needs.
    /// </summary>
    [SkipLocalsInit, MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static uint RunRegisters(InterpreterProgram program, ref byte rec, int length, ref Step s)
    {
        // The verifier proved no register is read before it is written, so the slots need no zeroing; an
        // inline array rather than stackalloc spares each call the stack probe and the buffer-overrun cookie.
        Unsafe.SkipInit(out Registers regs);
        ref ulong r = ref regs[0];
        ulong body = (uint)(length - RecordLayout.HeaderSize);
        int next;
        while (true)
        {
            // A chain of field tests, most of a typical filter, runs in this loop without the switch: Run's
            // loop, copied. Shared as an inlined helper returning the next step by ref and a deciding verdict
            // as an out parameter, `lifecycle` ran 4.7-4.8 ns against 4.2 in two in-process runs each (records
            // in L2, 2026-12-07; the other filters within the noise).
            while (s.Op == StepOp.Test)
            {
                if ((LoadU64(ref rec, s.B) & s.Mask) - s.Imm <= s.Span)
                {
                    s = ref Unsafe.Add(ref s, 1);
                }
                else
                {
                    if (s.False < 0) return (uint)~s.False;
                    s = ref Unsafe.AddByteOffset(ref s, s.False);
                }
            }
            // Straight-line steps go on to the next one; jumps leave their target in `next`.
            switch (s.Op)
            {
                case StepOp.Ret: return (uint)s.Imm;

                case StepOp.Ldb: Reg(ref r, s.A) = Unsafe.Add(ref rec, (nint)s.Imm); s = ref Unsafe.Add(ref s, 1); continue;
                case StepOp.Ldw: Reg(ref r, s.A) = LoadU32(ref rec, s.Imm); s = ref Unsafe.Add(ref s, 1); continue;
                case StepOp.Lddw: Reg(ref r, s.A) = LoadU64(ref rec, s.Imm); s = ref Unsafe.Add(ref s, 1); continue;

                case StepOp.MovK: Reg(ref r, s.A) = s.Imm; s = ref Unsafe.Add(ref s, 1); continue;
                case StepOp.MovX: Reg(ref r, s.A) = Reg(ref r, s.B); s = ref Unsafe.Add(ref s, 1); continue;
                case StepOp.AddK: Reg(ref r, s.A) += s.Imm; s = ref Unsafe.Add(ref s, 1); continue;
                case StepOp.AddX: Reg(ref r, s.A) += Reg(ref r, s.B); s = ref Unsafe.Add(ref s, 1); continue;
                case StepOp.SubK: Reg(ref r, s.A) -= s.Imm; s = ref Unsafe.Add(ref s, 1); continue;
                case StepOp.SubX: Reg(ref r, s.A) -= Reg(ref r, s.B); s = ref Unsafe.Add(ref s, 1); continue;
                case StepOp.AndK: Reg(ref r, s.A) &= s.Imm; s = ref Unsafe.Add(ref s, 1); continue;
                case StepOp.AndX: Reg(ref r, s.A) &= Reg(ref r, s.B); s = ref Unsafe.Add(ref s, 1); continue;
                case StepOp.OrK: Reg(ref r, s.A) |= s.Imm; s = ref Unsafe.Add(ref s, 1); continue;
                case StepOp.OrX: Reg(ref r, s.A) |= Reg(ref r, s.B); s = ref Unsafe.Add(ref s, 1); continue;
                case StepOp.XorK: Reg(ref r, s.A) ^= s.Imm; s = ref Unsafe.Add(ref s, 1); continue;
                case StepOp.XorX: Reg(ref r, s.A) ^= Reg(ref r, s.B); s = ref Unsafe.Add(ref s, 1); continue;
                case StepOp.LshK: Reg(ref r, s.A) = Semantics.Lsh(Reg(ref r, s.A), s.Imm); s = ref Unsafe.Add(ref s, 1); continue;
                case StepOp.LshX: Reg(ref r, s.A) = Semantics.Lsh(Reg(ref r, s.A), Reg(ref r, s.B)); s = ref Unsafe.Add(ref s, 1); continue;
                case StepOp.RshK: Reg(ref r, s.A) = Semantics.Rsh(Reg(ref r, s.A), s.Imm); s = ref Unsafe.Add(ref s, 1); continue;
                case StepOp.RshX: Reg(ref r, s.A) = Semantics.Rsh(Reg(ref r, s.A), Reg(ref r, s.B)); s = ref Unsafe.Add(ref s, 1); continue;
                case StepOp.ArshK: Reg(ref r, s.A) = Semantics.Arsh(Reg(ref r, s.A), s.Imm); s = ref Unsafe.Add(ref s, 1); continue;
                case StepOp.ArshX: Reg(ref r, s.A) = Semantics.Arsh(Reg(ref r, s.A), Reg(ref r, s.B)); s = ref Unsafe.Add(ref s, 1); continue;
                case StepOp.Neg: Reg(ref r, s.A) = 0 - Reg(ref r, s.A); s = ref Unsafe.Add(ref s, 1); continue;
                case StepOp.Not: Reg(ref r, s.A) = ~Reg(ref r, s.A); s = ref Unsafe.Add(ref s, 1); continue;

                case StepOp.Ja: next = s.True; break;
                case StepOp.JeqK: next = Pick(in s, Reg(ref r, s.A) == s.Imm); break;
                case StepOp.JeqX: next = Pick(in s, Reg(ref r, s.A) == Reg(ref r, s.B)); break;
                case StepOp.JgtK: next = Pick(in s, Reg(ref r, s.A) > s.Imm); break;
                case StepOp.JgtX: next = Pick(in s, Reg(ref r, s.A) > Reg(ref r, s.B)); break;
                case StepOp.JgeK: next = Pick(in s, Reg(ref r, s.A) >= s.Imm); break;
                case StepOp.JgeX: next = Pick(in s, Reg(ref r, s.A) >= Reg(ref r, s.B)); break;
                case StepOp.JsgtK: next = Pick(in s, (long)Reg(ref r, s.A) > (long)s.Imm); break;
                case StepOp.JsgtX: next = Pick(in s, (long)Reg(ref r, s.A) > (long)Reg(ref r, s.B)); break;
                case StepOp.JsgeK: next = Pick(in s, (long)Reg(ref r, s.A) >= (long)s.Imm); break;
                case StepOp.JsgeX: next = Pick(in s, (long)Reg(ref r, s.A) >= (long)Reg(ref r, s.B)); break;
                case StepOp.JsetK: next = Pick(in s, (Reg(ref r, s.A) & s.Imm) != 0); break;
                case StepOp.JsetX: next = Pick(in s, (Reg(ref r, s.A) & Reg(ref r, s.B)) != 0); break;
                case StepOp.Jin: next = Pick(in s, program.Sets[(int)s.Imm].Contains(Reg(ref r, s.A))); break;
                case StepOp.JstrEq: next = Pick(in s, StringTest(ref rec, length, in s, program, OpCode.JstrEq)); break;
                case StepOp.JstrPrefix: next = Pick(in s, StringTest(ref rec, length, in s, program, OpCode.JstrPrefix)); break;
                case StepOp.JstrSuffix: next = Pick(in s, StringTest(ref rec, length, in s, program, OpCode.JstrSuffix)); break;
                case StepOp.JstrContains: next = Pick(in s, StringTest(ref rec, length, in s, program, OpCode.JstrContains)); break;
                case StepOp.Jswitch: next = Case(in s, program.Sets[(int)s.Imm].IndexOf(Reg(ref r, s.A))); break;

                case StepOp.Test2: next = Pick(in s, (LoadU64(ref rec, s.B) & s.Mask) - s.Imm <= s.Span); break;
                case StepOp.LdJinBits: next = Pick(in s, InBits(in s, LoadU64(ref rec, s.B) & s.Mask)); break;
                case StepOp.LdJin: next = Pick(in s, program.Sets[(int)s.Imm].Contains(LoadU64(ref rec, s.B) & s.Mask)); break;
                case StepOp.JinBits: next = Pick(in s, InBits(in s, Reg(ref r, s.A))); break;
                case StepOp.JstrPrefix8: next = Pick(in s, SmallString(ref rec, body, in s, prefix: true)); break;
                case StepOp.JstrEq8 or StepOp.JstrSuffix8: next = Pick(in s, SmallString(ref rec, body, in s, prefix: false)); break;
                case StepOp.SwitchTable: next = TableCase(in s, Reg(ref r, s.A)); break;
                case StepOp.LdSwitchTable: next = TableCase(in s, LoadU64(ref rec, s.B) & s.Mask); break;

                default:
                    // Unreachable for a verified program; a new opcode without a case here fails the
                    // every-opcode test instead of running on.
                    return NoCase(s.Op);
            }
            if (next < 0) return (uint)~next;
            s = ref Unsafe.AddByteOffset(ref s, next);
        }
    }

    /// <summary>The step's true target when <paramref name="condition"/> holds, else its false target.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Pick(ref readonly Step s, bool condition) => condition ? s.True : s.False;

    /// <summary>A jswitch's target for case <paramref name="c"/> (-1: none): the case steps follow one another from True.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Case(ref readonly Step s, int c) => c < 0 ? s.False : s.True + c * Step.Size;

    /// <summary>Entry <paramref name="v"/> of the step's table of targets (Imm: its byte offset from the step, Aux: its entries), or False past it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int TableCase(ref readonly Step s, ulong v)
    {
        ref int table = ref Unsafe.As<byte, int>(ref Unsafe.AddByteOffset(ref Unsafe.As<Step, byte>(ref Unsafe.AsRef(in s)), (nint)s.Imm));
        return v < (ulong)s.Aux ? Unsafe.Add(ref table, (nint)v) : s.False;
    }

    /// <summary>Bit <paramref name="v"/> of the step's bitmap (Imm: its byte offset from the step, Aux: its words).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool InBits(ref readonly Step s, ulong v)
    {
        ulong word = v >> 6;
        ref ulong bitmap = ref Unsafe.As<byte, ulong>(ref Unsafe.AddByteOffset(ref Unsafe.As<Step, byte>(ref Unsafe.AsRef(in s)), (nint)s.Imm));
        return word < (ulong)s.Aux && (Unsafe.Add(ref bitmap, (nint)word) & (1UL << (int)(v & 63))) != 0;
    }

    /// <summary>
    /// A string test against a constant longer than 8 bytes or empty, or a contains: out of line, the rarer case.
    /// The field is read through its descriptor as <see cref="Record.GetString(int, int)"/> does (Aux: the field's
    /// maximum length; a descriptor out of bounds is the empty string), without making a Record, and compared
    /// with the constant by the span methods, which compare vectors at a time.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool StringTest(ref byte rec, int recordLength, ref readonly Step s, InterpreterProgram program, OpCode op)
    {
        uint d = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref rec, (nint)s.A));
        uint offset = d & 0xFFFF, length = d >> 16;
        var value = length > (uint)s.Aux || offset < RecordLayout.HeaderSize || offset + length > (uint)recordLength
            ? default : MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref rec, (nint)offset), (int)length);
        return Semantics.StringTest(op, value, program.Strings[(int)s.Imm]);
    }

    /// <summary>
    /// A string field tested against a constant of 1..8 bytes (B: its length n; Imm: its bytes as the high bytes
    /// of a word, Mask: those bytes; Span: how much longer than n the string may be, the field's maximum length
    /// less n for a prefix or a suffix, 0 for equality). A descriptor out of bounds reads as the empty string
    /// (spec/record.md), which neither equals, starts nor ends with a non-empty constant: so one test of the
    /// length and one of the bytes' place (<paramref name="body"/>: the record's bytes after the header). Then
    /// the 8 bytes ending at the constant's last byte in the string are read at once: the string's n-th byte
    /// for a prefix, its last for a suffix or an equality (where the two are one). They start at most 7 bytes
    /// before the string, which is past the header.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool SmallString(ref byte rec, ulong body, ref readonly Step s, bool prefix)
    {
        uint d = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref rec, (nint)s.A));
        uint offset = d & 0xFFFF, length = d >> 16, n = s.B;
        // n <= length <= n + Span, then 320 <= offset and offset + length <= the record's length, as one
        // unsigned comparison each.
        if (length - n > (uint)s.Span || (ulong)(offset - RecordLayout.HeaderSize) + length > body)
            return false;
        ulong last8 = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref rec, (nint)(offset + (prefix ? n : length) - 8)));
        return (last8 & s.Mask) == s.Imm;
    }

    // Out of line, so that building the message costs the dispatch loop nothing (no spilled locals).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static uint NoCase(StepOp op) => throw new InvalidOperationException($"interpreter has no case for opcode {op}");

    /// <summary>
    /// <see cref="Run"/> on every record of the batch, verdict i into <c>verdicts[i]</c>; returns the number
    /// of non-zero verdicts (see <see cref="IRecordFilter.RunBatch"/>). The interpreter's cost is the
    /// dispatch per instruction, so a plain loop over <see cref="Run"/> loses nothing worth a second copy.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int RunBatch(InterpreterProgram program, RecordBatch batch, Span<uint> verdicts)
    {
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int MatchIndices(InterpreterProgram program, RecordBatch batch, Span<int> indices)
    {
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
    private static ref ulong Reg(ref ulong r, uint index) => ref Unsafe.Add(ref r, index);

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
