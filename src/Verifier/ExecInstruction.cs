namespace Filter.Verifier;

/// <summary>
/// An instruction with its jump targets resolved to absolute pcs: the form engines and analyses of a verified
/// program walk (the verifier proved every target lies inside the program and after the instruction). For a
/// <c>jswitch</c>, True is its first case's target and <see cref="Cases"/> the number of cases (the ranges of
/// its set), whose targets follow it one by one: case c goes to True + c; False is where a value in no case goes.
/// </summary>
public readonly record struct ExecInstruction(OpCode Op, byte A, byte B, int True, int False, ulong Imm, int Cases = 0)
{
    public static ExecInstruction[] Resolve(IReadOnlyList<Instruction> code, IReadOnlyList<ValueSet> sets)
    {
        var exec = new ExecInstruction[code.Count];
        for (int pc = 0; pc < exec.Length; pc++)
        {
            var i = code[pc];
            int cases = InstructionSet.Get(i.Op).Jump == JumpKind.Switch ? sets[(int)i.Imm].Ranges.Count : 0;
            exec[pc] = new ExecInstruction(i.Op, i.A, i.B, i.TrueTarget(pc), i.FalseTarget(pc), i.Imm, cases);
        }
        return exec;
    }
}
