using Filter.Kernel.Asm;
using Filter.VM;

namespace Filter.Kernel.Translate;

internal sealed partial class BodyTranslator
{
    /// <summary>Ranges a leaf of the compare tree tests one after the other.</summary>
    private const int LeafRanges = 4;

    /// <summary>
    /// <c>jin</c>: whether the value in <see cref="A"/> is in <paramref name="set"/>, as a balanced tree of
    /// compares over its sorted ranges (depth log2 of the range count), in the set's order: signed jumps for
    /// a signed set. Each path is loop-free and short, and no value but the operand is live, so the kernel's
    /// verifier visits each compare once.
    /// </summary>
    private void SetTest(ValueSet set, Label inSet, Label notInSet)
    {
        var ranges = set.Ranges;
        JumpOp less = set.Signed ? JumpOp.Jslt : JumpOp.Jlt, lessOrEqual = set.Signed ? JumpOp.Jsle : JumpOp.Jle,
            greaterOrEqual = set.Signed ? JumpOp.Jsge : JumpOp.Jge;
        Tree(0, ranges.Count);

        void Tree(int from, int to)
        {
            if (to - from <= LeafRanges)
            {
                for (int i = from; i < to; i++)
                {
                    var r = ranges[i];
                    if (r.Lo == r.Hi) _asm.Jump(JumpOp.Jeq, A, (long)r.Lo, inSet, B);
                    else
                    {
                        // Sorted ranges: a value below this one is in none of the rest.
                        _asm.Jump(less, A, (long)r.Lo, notInSet, B);
                        _asm.Jump(lessOrEqual, A, (long)r.Hi, inSet, B);
                    }
                }
                _asm.Goto(notInSet);
                return;
            }
            int mid = from + (to - from) / 2;
            var upper = _asm.NewLabel();
            _asm.Jump(greaterOrEqual, A, (long)ranges[mid].Lo, upper, B);
            Tree(from, mid);
            _asm.Mark(upper);
            Tree(mid, to);
        }
    }
}
