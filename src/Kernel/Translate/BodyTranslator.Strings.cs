using System.Buffers.Binary;
using Filter.Kernel.Asm;

namespace Filter.Kernel.Translate;

internal sealed partial class BodyTranslator
{
    /// <summary>The string tests the kernel engine translates: one emitter, told apart by where the constant must sit.</summary>
    private enum StringMatch { Equal, Prefix, Suffix, Contains }

    /// <summary>
    /// <c>jstreq</c> / <c>jstrpfx</c> / <c>jstrsfx</c> / <c>jstrsub</c> against a constant, unrolled (no loop):
    /// the descriptor is checked as spec/record.md says (a string not wholly inside the record, or longer than
    /// its field's maximum, reads as empty), then the length, then the bytes in 8-byte words (the last word
    /// overlapping the one before, or 4-, 2- and 1-byte loads for a constant under 8 bytes), each XORed with the
    /// constant's and ORed into one difference tested once: no branch per word, so a long constant adds no
    /// paths for the kernel's verifier to explore (it refuses a path with more than 8,192 pending branches).
    /// A suffix is the same comparison at the string's length minus the constant's; a substring is
    /// <see cref="Contains"/>.
    /// </summary>
    private void StringTest(int descriptorOffset, byte[] constant, StringMatch match, Label matched, Label noMatch)
    {
        int max = RecordLayout.StringAt(descriptorOffset)!.MaxLength;
        int n = constant.Length;
        if (match != StringMatch.Equal && n == 0)
        {
            _asm.Goto(matched); // every string, the empty one included, starts with, ends with and contains ""
            return;
        }
        if (n > max)
        {
            _asm.Goto(noMatch); // a valid string is at most max bytes long, an invalid one is empty
            return;
        }
        // A = offset, B = length; an invalid descriptor is the empty string.
        var empty = n == 0 ? matched : noMatch;
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
            _asm.Jump(JumpOp.Jeq, B, 0, matched);
            _asm.Goto(noMatch);
            return;
        }
        _asm.Jump(match == StringMatch.Equal ? JumpOp.Jne : JumpOp.Jlt, B, n, noMatch);
        if (match == StringMatch.Contains)
        {
            Contains(constant, max, matched, noMatch);
            return;
        }
        if (match == StringMatch.Suffix)
        {
            _asm.Alu(AluOp.Add, A, B);
            _asm.Alu(AluOp.Sub, A, n);
        }
        // The record's length is at most the buffer's capacity, but the kernel's verifier does not know what
        // the length word holds: bound the offset so that every load below is inside the buffer.
        _asm.Jump(JumpOp.Jgt, A, KernelRecord.RecordCapacity - n, noMatch);
        _asm.Mov(T3, _layout.Record);
        _asm.Alu(AluOp.Add, T3, A);
        _asm.MovImm(T2, 0);
        foreach (var (size, at) in Words(n))
        {
            XorWord(T1, size, at, constant, at);
            _asm.Alu(AluOp.Or, T2, T1);
        }
        _asm.Jump(JumpOp.Jne, T2, 0, noMatch);
        _asm.Goto(matched);
    }

    /// <summary>
    /// <c>jstrsub</c> after the descriptor and length checks (A the string's offset, B its length, at least n):
    /// the constant compared at every position a string of the field's maximum length has, unrolled and without
    /// a branch, so that the kernel's verifier walks it once (its work stays one per instruction). At position p
    /// the difference d (as <see cref="StringTest"/> computes it) and p past the last start (B - n - p negative)
    /// each set the top bit of <c>d | -d | (B - n - p)</c>; the positions' values ANDed together keep the top bit
    /// clear when one position matched. Positions past the string read bytes after it (the rest of the record,
    /// the registers, the buffer's slack: <see cref="KernelRecord.BufferSize"/>) whose result is masked out.
    /// It costs about (max - n + 1) x (3 to 5 per 8 bytes of the constant + 7) instructions: 37,000 to 50,000 for a short
    /// constant on exe; a long one on exe exceeds the kernel's limit, which <see cref="KernelLimits"/> reports.
    /// </summary>
    private void Contains(byte[] constant, int max, Label matched, Label noMatch)
    {
        int n = constant.Length;
        _asm.Alu(AluOp.Sub, B, n);
        // Never taken for a valid string (its offset is inside the record); it bounds A for the verifier.
        _asm.Jump(JumpOp.Jgt, A, KernelRecord.RecordCapacity, noMatch);
        _asm.Mov(T3, _layout.Record);
        _asm.Alu(AluOp.Add, T3, A);
        _asm.MovImm(T2, -1);
        var words = Words(n).ToArray();
        for (int p = 0; p <= max - n; p++)
        {
            bool first = true;
            foreach (var (size, at) in words)
            {
                // r0 is free here: the verdict is written only by ret.
                XorWord(first ? T1 : A, size, (short)(p + at), constant, at);
                if (!first) _asm.Alu(AluOp.Or, T1, A);
                first = false;
            }
            _asm.Mov(Reg.R0, T1);
            _asm.Neg(Reg.R0);
            _asm.Alu(AluOp.Or, T1, Reg.R0);
            _asm.Mov(Reg.R0, B);
            _asm.Alu(AluOp.Sub, Reg.R0, p);
            _asm.Alu(AluOp.Or, T1, Reg.R0);
            _asm.Alu(AluOp.And, T2, T1);
        }
        _asm.Jump(JumpOp.Jsge, T2, 0, matched);
        _asm.Goto(noMatch);
    }

    /// <summary>How n bytes are loaded: 8-byte words, the last overlapping the one before; under 8 bytes, 4, 2 and 1.</summary>
    private static IEnumerable<(OpSize Size, int At)> Words(int n)
    {
        int at = 0;
        for (; at + 8 <= n; at += 8) yield return (OpSize.Dw, at);
        if (at < n && n >= 8)
        {
            yield return (OpSize.Dw, n - 8);
            yield break;
        }
        if (at + 4 <= n) { yield return (OpSize.W, at); at += 4; }
        if (at + 2 <= n) { yield return (OpSize.H, at); at += 2; }
        if (at < n) yield return (OpSize.B, at);
    }

    /// <summary>
    /// <paramref name="into"/> = the bytes at T3 + <paramref name="loadAt"/> (little-endian, as loaded) XOR the
    /// constant's at <paramref name="constantAt"/>: 0 where they are equal. A 64-bit constant goes through r0.
    /// </summary>
    private void XorWord(Reg into, OpSize size, int loadAt, byte[] constant, int constantAt)
    {
        var bytes = constant.AsSpan(constantAt);
        long expected = size switch
        {
            OpSize.Dw => BinaryPrimitives.ReadInt64LittleEndian(bytes),
            OpSize.W => BinaryPrimitives.ReadUInt32LittleEndian(bytes),
            OpSize.H => BinaryPrimitives.ReadUInt16LittleEndian(bytes),
            _ => bytes[0],
        };
        _asm.Load(size, into, T3, (short)loadAt);
        if (expected is >= int.MinValue and <= int.MaxValue) _asm.Alu(AluOp.Xor, into, (int)expected);
        else
        {
            _asm.LoadImm64(Reg.R0, expected);
            _asm.Alu(AluOp.Xor, into, Reg.R0);
        }
    }
}
