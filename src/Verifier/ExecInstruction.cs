namespace Filter.Verifier;

/// <summary>
/// An instruction with its jump targets resolved to absolute pcs: the form engines and analyses of a verified
/// program walk (the verifier proved every target lies inside the program and after the instruction).
/// </summary>
public readonly record struct ExecInstruction(OpCode Op, byte A, byte B, int True, int False, ulong Imm)
{
    public static ExecInstruction[] Resolve(IReadOnlyList<Instruction> code)
    {
        var exec = new ExecInstruction[code.Count];
        for (int pc = 0; pc < exec.Length; pc++)
        {
            var i = code[pc];
            exec[pc] = new ExecInstruction(i.Op, i.A, i.B, i.TrueTarget(pc), i.FalseTarget(pc), i.Imm);
        }
        return exec;
    }
}
