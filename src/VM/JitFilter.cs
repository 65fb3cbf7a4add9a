using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Filter.VM;

/// <summary>
/// A verified program compiled by <see cref="Jit"/>. Running it allocates nothing and copies nothing:
/// the generated code reads the record through a reference to its first byte.
/// </summary>
public sealed class JitFilter : IRecordFilter
{
    private readonly FilterFn _run;
    // The batch loops, compiled on first use (Jit.EmitBatch). A race compiles twice and keeps one: harmless.
    private BatchFn? _verdicts, _indices;

    internal JitFilter(VerifiedProgram program, FilterFn run)
    {
        Program = program;
        _run = run;
    }

    public VerifiedProgram Program { get; }

    public EngineKind Engine => EngineKind.Jit;

    /// <summary>Returns the verdict: 0 for no match, otherwise the number of the deciding rule.</summary>
    public uint Run(Record record) =>
        _run(ref record.Start, record.Bytes.Length);

    /// <inheritdoc/>
    /// <remarks>One call into compiled code for the whole batch: the loop and the program are one method.</remarks>
    public int RunBatch(RecordBatch batch, Span<uint> verdicts)
    {
        batch.CheckOutput(verdicts.Length, nameof(verdicts));
        if (batch.Count == 0) return 0;
        var loop = _verdicts ?? Compiled(ref _verdicts, BatchOutput.Verdicts);
        return loop(ref MemoryMarshal.GetReference(batch.Buffer), ref MemoryMarshal.GetReference(batch.Offsets), batch.Count,
            ref Unsafe.As<uint, int>(ref MemoryMarshal.GetReference(verdicts)));
    }

    /// <inheritdoc/>
    public int MatchIndices(RecordBatch batch, Span<int> indices)
    {
        batch.CheckOutput(indices.Length, nameof(indices));
        if (batch.Count == 0) return 0;
        var loop = _indices ?? Compiled(ref _indices, BatchOutput.Indices);
        return loop(ref MemoryMarshal.GetReference(batch.Buffer), ref MemoryMarshal.GetReference(batch.Offsets), batch.Count,
            ref MemoryMarshal.GetReference(indices));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private BatchFn Compiled(ref BatchFn? slot, BatchOutput output) =>
        Interlocked.CompareExchange(ref slot, Jit.EmitBatch(ProgramForm.Of(Program), output), null) ?? slot;
}
