using System.Runtime.CompilerServices;

namespace Filter.VM;

/// <summary>How a verified program is executed.</summary>
public enum EngineKind
{
    /// <summary>The interpreter: no start-up cost.</summary>
    Interpreter,
    /// <summary>IL compiled to machine code: a fraction of a millisecond to start, fastest per record.</summary>
    Jit,
    /// <summary>
    /// The program translated to eBPF and run by the Linux kernel, one system call per record
    /// (<c>BPF_PROG_TEST_RUN</c>): the engine that filters live system calls in the kernel (spec/kernel.md),
    /// run on records of the caller's choosing, to check it against the others. Needs root and BPF.
    /// </summary>
    Kernel,
}

/// <summary>A verified program ready to run on records, by whichever engine.</summary>
/// <remarks>
/// Every verdict is <see cref="Program"/>'s on that record: callers rely on it, e.g. the audit pipeline
/// skips <see cref="Run"/> for records the program's <see cref="SyscallMatchTable.Of"/> table rules out.
/// </remarks>
public interface IRecordFilter
{
    VerifiedProgram Program { get; }

    /// <summary>The engine that runs it: the one asked for, or the interpreter where that one cannot run here.</summary>
    EngineKind Engine { get; }

    /// <summary>The verdict: 0 for no match, otherwise the number of the deciding rule.</summary>
    uint Run(Record record);

    /// <summary>
    /// Runs every record of <paramref name="batch"/>: <c>verdicts[i]</c> becomes record i's verdict,
    /// exactly what <see cref="Run"/> returns for it; entries past <see cref="RecordBatch.Count"/> are left
    /// alone. Returns the number of non-zero verdicts. Allocates nothing.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="verdicts"/> is shorter than the batch.</exception>
    int RunBatch(RecordBatch batch, Span<uint> verdicts);

    /// <summary>
    /// Writes the indices of the matching records (non-zero verdict) of <paramref name="batch"/> to the
    /// start of <paramref name="indices"/>, in increasing order, and returns how many there are.
    /// Allocates nothing.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="indices"/> is shorter than the batch.</exception>
    int MatchIndices(RecordBatch batch, Span<int> indices);
}

/// <summary>The interpreter behind <see cref="IRecordFilter"/>: holds the program's interpreter form.</summary>
public sealed class InterpretedFilter : IRecordFilter
{
    private readonly InterpreterProgram _code;

    public InterpretedFilter(VerifiedProgram program)
    {
        Program = program;
        _code = InterpreterProgram.Of(program);
    }

    public VerifiedProgram Program { get; }
    public EngineKind Engine => EngineKind.Interpreter;
    // Not tiered, as the interpreter's loop it inlines (Interpreter.Run).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public uint Run(Record record) => Interpreter.Run(_code, record);
    public int RunBatch(RecordBatch batch, Span<uint> verdicts) => Interpreter.RunBatch(_code, batch, verdicts);
    public int MatchIndices(RecordBatch batch, Span<int> indices) => Interpreter.MatchIndices(_code, batch, indices);
}

public static class RecordFilters
{
    /// <summary>
    /// The one place an engine is chosen: every caller goes through here, and one rule covers every engine
    /// that cannot run in this process: the interpreter runs instead (as Regex runs its interpreter where
    /// <c>RegexOptions.Compiled</c> cannot generate code), and <see cref="IRecordFilter.Engine"/> says so. The
    /// JIT cannot run where code cannot be generated at run time (NativeAOT: the AOT compiler then drops it
    /// as unreachable) nor on a big-endian machine (its loads are little-endian); the kernel engine where the
    /// kernel will not load the program (no BPF, not root: <see cref="KernelFilter.TryCreate"/> says why).
    /// </summary>
    public static IRecordFilter Create(VerifiedProgram program, EngineKind engine) => engine switch
    {
        EngineKind.Jit when System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported && BitConverter.IsLittleEndian
            => Jit.Compile(program),
        EngineKind.Kernel when KernelFilter.TryCreate(program, out _) is { } kernel => kernel,
        _ => new InterpretedFilter(program),
    };
}
