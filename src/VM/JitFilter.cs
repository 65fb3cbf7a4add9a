namespace Filter.VM;

/// <summary>
/// A verified program compiled by <see cref="Jit"/>. Running it allocates nothing and copies nothing:
/// the generated code reads the record through a reference to its first byte.
/// </summary>
public sealed class JitFilter : IRecordFilter
{
    private readonly FilterFn? _run;

    internal JitFilter(VerifiedProgram program, FilterFn? run)
    {
        Program = program;
        _run = run;
    }

    public VerifiedProgram Program { get; }

    /// <summary>False only where the JIT falls back to the interpreter (big-endian machines).</summary>
    public bool IsCompiled => _run is not null;

    /// <summary>Returns the verdict: 0 for no match, otherwise the number of the deciding rule.</summary>
    public uint Run(Record record) =>
        _run is { } run ? run(ref record.Start, record.Bytes.Length) : Interpreter.Run(Program, record);

    /// <summary>True when the verdict is non-zero.</summary>
    public bool Matches(Record record) => Run(record) != 0;
}
