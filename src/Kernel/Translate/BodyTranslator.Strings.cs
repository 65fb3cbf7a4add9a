using System.Buffers.Binary;
using Filter.Kernel.Asm;

namespace Filter.Kernel.Translate;

internal sealed partial class BodyTranslator
{
    /// <summary>
    /// <c>jstreq</c> / <c>jstrpfx</c> against a constant, unrolled (no loop): the descriptor is checked as
    /// spec/record.md says (a string not wholly inside the record, or longer than its field's maximum, reads
    /// as empty), then the length, then the bytes in 8-byte words (the last word overlapping the one before,
    /// or 4-, 2- and 1-byte loads for a constant under 8 bytes), each XORed with the constant's and ORed into
    /// one difference tested once: no branch per word, so a long constant adds no paths for the kernel's
    /// verifier to explore (it refuses a path with more than 8,192 pending branches).
    /// </summary>
    private void StringTest(int descriptorOffset, byte[] constant, bool prefix, Label match, Label noMatch)
    {
        int max = RecordLayout.StringAt(descriptorOffset)!.MaxLength;
        int n = constant.Length;
        if (prefix && n == 0)
        {
            _asm.Goto(match); // every string, the empty one included, starts with ""
            return;
        }
        // A = offset, B = length; an invalid descriptor is the empty string.
        var empty = n == 0 ? match : noMatch;
        _asm.Load(OpSize.W, A, _layout.Record, (short)descriptorOffset);
        _asm.Mov(B, A);
        _asm.Alu(AluOp.Rsh, B, 16);
        _asm.Alu(AluOp.And, A, 0xffff);
        _asm.Jump(JumpOp.Jgt, B, max, empty);
        _asm.Jump(JumpOp.Jlt, A, RecordLayout.HeaderSize, empty);
        _asm.Mov(T1, A);
        _asm.Alu(AluOp.Add, T1, B);
        _asm.Load(OpSize.W, T2, _layout.Record, KernelRecord.LengthFromRecord);
        _asm.Jump(JumpOp.Jgt, T1, T2, empty);
        if (n == 0)
        {
            // A valid descriptor: equal to "" when its length is 0.
            _asm.Jump(JumpOp.Jeq, B, 0, match);
            _asm.Goto(noMatch);
            return;
        }
        _asm.Jump(prefix ? JumpOp.Jlt : JumpOp.Jne, B, n, noMatch);
        // The record's length is at most the buffer's capacity, but the kernel's verifier does not know what
        // the length word holds: bound the offset so that every load below is inside the buffer.
        _asm.Jump(JumpOp.Jgt, A, KernelRecord.RecordCapacity - n, noMatch);
        _asm.Mov(T3, _layout.Record);
        _asm.Alu(AluOp.Add, T3, A);
        _asm.MovImm(T2, 0);
        int at = 0;
        for (; at + 8 <= n; at += 8) DifferWord(OpSize.Dw, at, constant);
        if (at < n && n >= 8) DifferWord(OpSize.Dw, n - 8, constant);
        else
        {
            if (at + 4 <= n) { DifferWord(OpSize.W, at, constant); at += 4; }
            if (at + 2 <= n) { DifferWord(OpSize.H, at, constant); at += 2; }
            if (at < n) DifferWord(OpSize.B, at, constant);
        }
        _asm.Jump(JumpOp.Jne, T2, 0, noMatch);
        _asm.Goto(match);
    }

    /// <summary>ORs into T2 how the bytes at T3 + <paramref name="at"/> (little-endian, as loaded) differ from the constant's.</summary>
    private void DifferWord(OpSize size, int at, byte[] constant)
    {
        var bytes = constant.AsSpan(at);
        long expected = size switch
        {
            OpSize.Dw => BinaryPrimitives.ReadInt64LittleEndian(bytes),
            OpSize.W => BinaryPrimitives.ReadUInt32LittleEndian(bytes),
            OpSize.H => BinaryPrimitives.ReadUInt16LittleEndian(bytes),
            _ => bytes[0],
        };
        _asm.Load(size, T1, T3, (short)at);
        if (expected is >= int.MinValue and <= int.MaxValue) _asm.Alu(AluOp.Xor, T1, (int)expected);
        else
        {
            _asm.LoadImm64(B, expected);
            _asm.Alu(AluOp.Xor, T1, B);
        }
        _asm.Alu(AluOp.Or, T2, T1);
    }
}
