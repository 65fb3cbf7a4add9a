using System.Runtime.CompilerServices;

namespace Filter.VM;

/// <summary>
/// A verified program as the engines read it: jump targets absolute, sets as matchers, strings as arrays.
/// Built once per program, on first use, from its immutable image; internal to the engines, so nothing
/// outside them can change what they run. Weak keys: a form lives exactly as long as its program.
/// </summary>
internal sealed class ProgramForm
{
    private static readonly ConditionalWeakTable<VerifiedProgram, ProgramForm> Forms = new();

    public static ProgramForm Of(VerifiedProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        return Forms.GetValue(program, static p => new ProgramForm(p));
    }

    public readonly VerifiedProgram Program;
    public readonly ExecInstruction[] Exec;
    public readonly SetMatcher[] Sets;
    public readonly byte[][] Strings;

    private ProgramForm(VerifiedProgram program)
    {
        Program = program;
        var code = program.Code;
        Exec = new ExecInstruction[code.Count];
        for (int pc = 0; pc < Exec.Length; pc++)
        {
            var i = code[pc];
            Exec[pc] = new ExecInstruction(i.Op, i.A, i.B, i.TrueTarget(pc), i.FalseTarget(pc), i.Imm);
        }
        Sets = program.Image.Sets.Select(s => new SetMatcher(s)).ToArray();
        Strings = program.Image.Strings.Select(s => s.ToArray()).ToArray();
    }
}

/// <summary>An instruction as the engines execute it: jump targets resolved to absolute pcs.</summary>
internal readonly record struct ExecInstruction(OpCode Op, byte A, byte B, int True, int False, ulong Imm);
