namespace Filter.Verifier;

/// <summary>Which registers a verified program may still read at each pc: for the interpreter's fused steps and the match table's joins.</summary>
public static class RegisterLiveness
{
    /// <summary>
    /// For each pc, the registers (bit n: rn) that some path from it reads before writing. Jumps go forward,
    /// so one backward pass computes it.
    /// </summary>
    public static ushort[] LiveIn(ExecInstruction[] exec)
    {
        var liveIn = new ushort[exec.Length];
        for (int pc = exec.Length - 1; pc >= 0; pc--)
        {
            var i = exec[pc];
            var info = InstructionSet.Get(i.Op);
            int after = info.Jump switch
            {
                JumpKind.None => liveIn[pc + 1],
                JumpKind.Always => liveIn[i.True],
                JumpKind.Conditional => liveIn[i.True] | liveIn[i.False],
                JumpKind.Switch => liveIn[i.False] | Cases(liveIn, i),
                _ => 0,
            };
            int written = 0, read = 0;
            void Note(Operand operand, byte register)
            {
                if (operand is Operand.RegWrite or Operand.RegReadWrite) written |= 1 << register;
                if (operand is Operand.RegRead or Operand.RegReadWrite) read |= 1 << register;
            }
            Note(info.A, i.A);
            Note(info.B, i.B);
            liveIn[pc] = (ushort)(after & ~written | read);
        }
        return liveIn;
    }

    /// <summary>The registers live into any case of a jswitch.</summary>
    private static int Cases(ushort[] liveIn, ExecInstruction i)
    {
        int live = 0;
        for (int c = 0; c < i.Cases; c++) live |= liveIn[i.True + c];
        return live;
    }

}
