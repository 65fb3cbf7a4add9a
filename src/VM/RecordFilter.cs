namespace Filter.VM;

/// <summary>How a verified program is executed.</summary>
public enum EngineKind
{
    /// <summary>The interpreter: no start-up cost.</summary>
    Interpreter,
    /// <summary>IL compiled to machine code: a fraction of a millisecond to start, fastest per record.</summary>
    Jit,
}

/// <summary>A verified program ready to run on records, by whichever engine.</summary>
public interface IRecordFilter
{
    VerifiedProgram Program { get; }

    /// <summary>The verdict: 0 for no match, otherwise the number of the deciding rule.</summary>
    uint Run(Record record);
}

/// <summary>The interpreter behind <see cref="IRecordFilter"/>.</summary>
public sealed class InterpretedFilter(VerifiedProgram program) : IRecordFilter
{
    public VerifiedProgram Program { get; } = program;
    public uint Run(Record record) => Interpreter.Run(Program, record);
}

public static class RecordFilters
{
    /// <summary>The one place an engine is chosen: every caller goes through here.</summary>
    public static IRecordFilter Create(VerifiedProgram program, EngineKind engine) =>
        engine == EngineKind.Jit ? Jit.Compile(program) : new InterpretedFilter(program);
}
