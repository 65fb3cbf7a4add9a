namespace Filter.VM;

/// <summary>
/// A verified program as the engines read it: jump targets absolute, sets as matchers, strings as arrays.
/// Built once per program, on first use, from its immutable image (<see cref="VerifiedProgram.Derived"/>);
/// internal to the engines, so nothing outside them can change what they run.
/// </summary>
internal sealed class ProgramForm
{
    public static ProgramForm Of(VerifiedProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        return program.Derived(static p => new ProgramForm(p));
    }

    public readonly VerifiedProgram Program;
    public readonly ExecInstruction[] Exec;
    public readonly SetMatcher[] Sets;
    public readonly byte[][] Strings;

    private ProgramForm(VerifiedProgram program)
    {
        Program = program;
        Exec = ExecInstruction.Resolve(program.Code, program.Image.Sets);
        Sets = program.Image.Sets.Select(s => new SetMatcher(s)).ToArray();
        Strings = program.Image.Strings.Select(s => s.ToArray()).ToArray();
    }
}
