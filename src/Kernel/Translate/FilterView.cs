
namespace Filter.Kernel.Translate;

/// <summary>
/// What the translator reads of a verified program, taken in this one place so that a change to
/// <see cref="VerifiedProgram"/>'s shape is adapted here alone: the code, the constants, the keys and the
/// syscall match table.
/// </summary>
internal sealed class FilterView
{
    public IReadOnlyList<Instruction> Code { get; }
    public IReadOnlyList<ValueSet> Sets { get; }
    public IReadOnlyList<byte[]> Strings { get; }
    public IReadOnlyList<string> Keys { get; }
    public SyscallMatchTable Matches { get; }
    public IReadOnlySet<string> FieldsRead { get; }

    private FilterView(VerifiedProgram program)
    {
        Code = program.Image.Code;
        Sets = program.Image.Sets;
        Strings = program.Image.Strings.Select(s => s.ToArray()).ToArray();
        Keys = program.Image.Keys;
        Matches = SyscallMatchTable.Of(program);
        FieldsRead = program.FieldsRead;
    }

    public static FilterView Of(VerifiedProgram program) => new(program);

    public static OpInfo Info(Instruction insn) => InstructionSet.Get(insn.Op);
}
