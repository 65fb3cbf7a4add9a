using Filter.Kernel.Asm;

namespace Filter.Kernel.Translate;

/// <summary>
/// A jump table as a balanced tree of compares over sorted, disjoint ranges, each range with its own target
/// (<c>jswitch</c>): depth about log2 of their count plus one, in the set's order (signed jumps for a signed
/// set). eBPF has no indirect jump; a tree keeps every path short and loop-free, and only the tested register
/// is live, so the kernel's verifier visits each compare once per path into it.
/// </summary>
internal static class CaseTree
{
    public static void Emit(BpfAssembler asm, IReadOnlyList<ValueRange> ranges, bool signed, Reg value, Reg scratch, IReadOnlyList<Label> cases, Label otherwise)
    {
        JumpOp less = signed ? JumpOp.Jslt : JumpOp.Jlt, lessOrEqual = signed ? JumpOp.Jsle : JumpOp.Jle,
            greaterOrEqual = signed ? JumpOp.Jsge : JumpOp.Jge;
        Tree(0, ranges.Count);

        // Ranges from..to-1; every value reaching here lies between the neighbours' bounds.
        void Tree(int from, int to)
        {
            if (to - from == 1)
            {
                var r = ranges[from];
                if (r.Lo == r.Hi) asm.Jump(JumpOp.Jeq, value, (long)r.Lo, cases[from], scratch);
                else
                {
                    asm.Jump(less, value, (long)r.Lo, otherwise, scratch);
                    asm.Jump(lessOrEqual, value, (long)r.Hi, cases[from], scratch);
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
