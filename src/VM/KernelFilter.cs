using Filter.Kernel.Translate;

namespace Filter.VM;

/// <summary>
/// The kernel engine behind <see cref="IRecordFilter"/>: the program translated to eBPF (src/Kernel), loaded
/// into the kernel, and run there on each record by <c>BPF_PROG_TEST_RUN</c>: the same body the live programs
/// run at every system call's exit, on records of the caller's choosing. One system call per record, so it is
/// for checking the kernel against the other engines, not for speed. Dispose it to unload the program (it is
/// also unloaded when the process ends).
/// </summary>
public sealed class KernelFilter : IRecordFilter, IDisposable
{
    private readonly TestRunFilter _loaded;
    private readonly RecordBuilder _canonical = new();

    private KernelFilter(VerifiedProgram program, TestRunFilter loaded)
    {
        Program = program;
        _loaded = loaded;
    }

    /// <summary>The program loaded into the kernel, or null with the reason (as a diagnostic) when it cannot be.</summary>
    public static KernelFilter? TryCreate(VerifiedProgram program, out Diagnostic? why)
    {
        var loaded = TestRunFilter.Load(program);
        why = loaded.Ok ? null : loaded.Error!.ToDiagnostic();
        return loaded.Ok ? new KernelFilter(program, loaded.Value) : null;
    }

    public VerifiedProgram Program { get; }
    public EngineKind Engine => EngineKind.Kernel;

    /// <exception cref="InvalidOperationException">The kernel failed to run the program (a system call failed).</exception>
    public uint Run(Record record)
    {
        var bytes = record.Bytes;
        if (bytes.Length > KernelRecord.RecordCapacity)
        {
            // Longer than the kernel's buffer: the same header, comm and exe in the canonical layout, the other
            // strings left out. The program reads no other string (KernelSupport refused it otherwise), so the
            // verdict is the record's.
            _canonical.CopyFrom(record);
            foreach (var s in RecordLayout.Strings)
                if (s.DescriptorOffset is not (RecordLayout.CommDescriptor or RecordLayout.ExeDescriptor)) _canonical.SetString(s, ReadOnlySpan<byte>.Empty);
            bytes = _canonical.Build();
        }
        var verdict = _loaded.Run(bytes);
        return verdict.Ok ? verdict.Value : throw new InvalidOperationException(verdict.Error!.Message);
    }

    public int RunBatch(RecordBatch batch, Span<uint> verdicts)
    {
        batch.CheckOutput(verdicts.Length, nameof(verdicts));
        int matches = 0;
        for (int i = 0; i < batch.Count; i++)
            if ((verdicts[i] = Run(batch[i])) != 0) matches++;
        return matches;
    }

    public int MatchIndices(RecordBatch batch, Span<int> indices)
    {
        batch.CheckOutput(indices.Length, nameof(indices));
        int matches = 0;
        for (int i = 0; i < batch.Count; i++)
            if (Run(batch[i]) != 0) indices[matches++] = i;
        return matches;
    }

    public void Dispose() => _loaded.Dispose();
}
