namespace Filter.VM;

/// <summary>
/// A program that passed the verifier. Only <c>Filter.Verifier.Verifier</c> can create one (the
/// constructor is internal to this assembly and visible to the verifier alone), and the engines accept
/// nothing else: unverified bytecode cannot be run through the public API.
/// </summary>
public sealed class VerifiedProgram
{
    /// <summary>The program as decoded, for disassembly and metadata (keys).</summary>
    public ProgramImage Image { get; }

    /// <summary>The encoded bytes that were verified.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    /// <summary>The most instructions any run executes (the longest path through the loop-free code).</summary>
    public int MaxPathLength { get; }

    /// <summary>
    /// False when no instruction reads the record (a constant filter such as <c>true</c>): such a program
    /// decides every event alike, including events that carry no syscall record.
    /// </summary>
    public bool ReadsRecord => FieldsRead.Count > 0;

    /// <summary>
    /// The names of the record fields the program reads: a record source may decode only these
    /// (spec/auditd.md).
    /// </summary>
    public IReadOnlySet<string> FieldsRead { get; }

    /// <summary>Instructions with absolute jump targets, the form the engines execute.</summary>
    internal readonly ExecInstruction[] Exec;
    /// <summary>The program as the interpreter runs it (<see cref="InterpreterCode"/>).</summary>
    internal readonly Step[] Interpreted;
    internal readonly SetMatcher[] Sets;
    internal readonly byte[][] Strings;

    internal VerifiedProgram(ProgramImage image, byte[] bytes, int maxPathLength)
    {
        Image = image;
        Bytes = bytes;
        MaxPathLength = maxPathLength;
        Exec = new ExecInstruction[image.Code.Count];
        for (int pc = 0; pc < Exec.Length; pc++)
        {
            var i = image.Code[pc];
            Exec[pc] = new ExecInstruction(i.Op, i.A, i.B, i.TrueTarget(pc), i.FalseTarget(pc), i.Imm);
        }
        Sets = image.Sets.Select(s => new SetMatcher(s)).ToArray();
        var fields = new HashSet<string>(StringComparer.Ordinal);
        foreach (var i in image.Code)
        {
            var info = InstructionSet.Get(i.Op);
            if (info.Imm == Operand.Field) fields.Add(RecordLayout.ScalarAt((long)i.Imm)!.Name);
            if (info.A == Operand.StringField) fields.Add(RecordLayout.StringAt(i.A)!.Name);
        }
        FieldsRead = fields;
        Strings = image.Strings.ToArray();
        Interpreted = InterpreterCode.Build(Exec, Sets, Strings);
    }

    public int InstructionCount => Exec.Length;

    /// <summary>
    /// Which syscall records (by arch and number) the program can match: computed once, on first use, not by
    /// the verifier, so that only callers who use it pay for it.
    /// </summary>
    public SyscallMatchTable SyscallMatches =>
        _syscallMatches ?? LazyInitializer.EnsureInitialized(ref _syscallMatches, ref _syscallMatchesLock, () => SyscallMatchTable.For(this));
    private SyscallMatchTable? _syscallMatches;
    private object? _syscallMatchesLock;

    public IReadOnlyList<string> Keys => Image.Keys;
}

/// <summary>An instruction as the engines execute it: jump targets resolved to absolute pcs.</summary>
internal readonly record struct ExecInstruction(OpCode Op, byte A, byte B, int True, int False, ulong Imm);
