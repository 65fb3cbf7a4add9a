using Filter.Kernel.Asm;

namespace Filter.Kernel.Translate;

/// <summary>
/// Set membership as a balanced tree of compares over sorted, disjoint ranges (depth log2 of their count),
/// in the set's order (signed jumps for a signed set): <c>jin</c>, and the syscall test that opens the live
/// programs. Each path is loop-free and short and only the tested register is live, so the kernel's verifier
/// visits each compare once.
/// </summary>
internal static class CompareTree
{
    /// <summary>Ranges a leaf tests one after the other.</summary>
    private const int LeafRanges = 4;

    public static void Emit(BpfAssembler asm, IReadOnlyList<ValueRange> ranges, bool signed, Reg value, Reg scratch, Label inSet, Label notInSet)
    {
        JumpOp less = signed ? JumpOp.Jslt : JumpOp.Jlt, lessOrEqual = signed ? JumpOp.Jsle : JumpOp.Jle,
            greaterOrEqual = signed ? JumpOp.Jsge : JumpOp.Jge;
        Tree(0, ranges.Count);

        void Tree(int from, int to)
        {
            if (to - from <= LeafRanges)
            {
                for (int i = from; i < to; i++)
                {
                    var r = ranges[i];
                    if (r.Lo == r.Hi) asm.Jump(JumpOp.Jeq, value, (long)r.Lo, inSet, scratch);
                    else
                    {
                        // Sorted ranges: a value below this one is in none of the rest.
                        asm.Jump(less, value, (long)r.Lo, notInSet, scratch);
                        asm.Jump(lessOrEqual, value, (long)r.Hi, inSet, scratch);
                    }
                }
                asm.Goto(notInSet);
                return;
            }
            int mid = from + (to - from) / 2;
            var upper = asm.NewLabel();
            asm.Jump(greaterOrEqual, value, (long)ranges[mid].Lo, upper, scratch);
            Tree(from, mid);
            asm.Mark(upper);
            Tree(mid, to);
        }
    }
}
