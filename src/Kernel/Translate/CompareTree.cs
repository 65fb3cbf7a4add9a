using Filter.Kernel.Asm;

namespace Filter.Kernel.Translate;

/// <summary>
/// A balanced tree of compares over sorted, disjoint ranges (depth about log2 of their count), in the set's
/// order (signed jumps for a signed set): set membership (<c>jin</c>, and the syscall test that opens the live
/// programs) and jump tables (<c>jswitch</c>, a target per range; eBPF has no indirect jump). Each path is
/// loop-free and short and only the tested register is live, so the kernel's verifier visits each compare once
/// per path into it.
/// </summary>
internal static class CompareTree
{
    /// <summary>Ranges a membership leaf tests one after the other.</summary>
    private const int LeafRanges = 4;

    /// <summary>Jumps to <paramref name="inSet"/> when <paramref name="value"/> is in one of the ranges, else to <paramref name="notInSet"/>.</summary>
    public static void Emit(BpfAssembler asm, IReadOnlyList<ValueRange> ranges, bool signed, Reg value, Reg scratch, Label inSet, Label notInSet) =>
        Emit(asm, ranges, signed, value, scratch, _ => inSet, notInSet, LeafRanges);

    /// <summary>Jumps to <c>cases[i]</c> when <paramref name="value"/> is in range i, else to <paramref name="otherwise"/> (one range a leaf).</summary>
    public static void EmitCases(BpfAssembler asm, IReadOnlyList<ValueRange> ranges, bool signed, Reg value, Reg scratch, IReadOnlyList<Label> cases, Label otherwise) =>
        Emit(asm, ranges, signed, value, scratch, i => cases[i], otherwise, leafRanges: 1);

    private static void Emit(BpfAssembler asm, IReadOnlyList<ValueRange> ranges, bool signed, Reg value, Reg scratch,
        Func<int, Label> target, Label otherwise, int leafRanges)
    {
        JumpOp less = signed ? JumpOp.Jslt : JumpOp.Jlt, lessOrEqual = signed ? JumpOp.Jsle : JumpOp.Jle,
            greaterOrEqual = signed ? JumpOp.Jsge : JumpOp.Jge;
        Tree(0, ranges.Count);

        // Ranges from..to-1; every value reaching here lies between the neighbours' bounds.
        void Tree(int from, int to)
        {
            if (to - from <= leafRanges)
            {
                for (int i = from; i < to; i++)
                {
                    var r = ranges[i];
                    if (r.Lo == r.Hi) asm.Jump(JumpOp.Jeq, value, (long)r.Lo, target(i), scratch);
                    else
                    {
                        // Sorted ranges: a value below this one is in none of the rest.
                        asm.Jump(less, value, (long)r.Lo, otherwise, scratch);
                        asm.Jump(lessOrEqual, value, (long)r.Hi, target(i), scratch);
                    }
                }
                asm.Goto(otherwise);
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
