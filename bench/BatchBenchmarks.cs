using BenchmarkDotNet.Attributes;
using Filter.Compiler;
using Filter.VM;

namespace Filter.Bench;

/// <summary>
/// The batch entry point (<see cref="IRecordFilter.RunBatch"/>) per record, for the filters and records of
/// <see cref="FilterBenchmarks"/>, against a hand-written inline loop doing the same work: for every
/// record of a batch of <see cref="BatchSize"/>, slice it from the shared buffer, decide it, store a
/// verdict, count the matches. Each invocation evaluates 1,000,000 records (OperationsPerInvoke), so Mean
/// is nanoseconds per record. The target is <c>JitBatch</c> at most 1.3x <c>HandWrittenLoop</c>.
/// </summary>
[MemoryDiagnoser]
public class BatchBenchmarks
{
    private const int Operations = 1_000_000;

    /// <summary>Records per RunBatch call: a reader's chunk; the verdicts stay in L1.</summary>
    public const int BatchSize = 1024;

    [Params("lifecycle", "lifecycle_uid", "allowlist40", "exe_tmp", "deep30")]
    public string FilterName { get; set; } = "lifecycle";

    private RecordSet _records = null!;
    private int _passes;
    private VerifiedProgram _program = null!;
    private IRecordFilter _jit = null!, _interpreter = null!;
    private readonly uint[] _verdicts = new uint[BatchSize];
    private readonly int[] _indices = new int[BatchSize];

    [GlobalSetup]
    public void Setup()
    {
        int count = int.TryParse(Environment.GetEnvironmentVariable(FilterBenchmarks.RecordCountVariable), out int n) ? n : Operations;
        _records = RecordSet.Build(count);
        _passes = Operations / count;
        _program = FilterProgram.Compile(FilterBenchmarks.Filters[FilterName]).EnsureProgram();
        _jit = RecordFilters.Create(_program, EngineKind.Jit);
        _interpreter = RecordFilters.Create(_program, EngineKind.Interpreter);
        // Every column must compute the same thing (this also compiles the batch loops).
        int expected = HandWrittenLoop();
        foreach (var (name, matches) in new[] { ("jit batch", JitBatch()), ("jit indices", JitMatchIndices()), ("jit per record", JitPerRecord()), ("interpreter batch", InterpreterBatch()) })
            if (matches != expected) throw new InvalidOperationException($"{FilterName}: {name} matched {matches}, hand-written {expected}");
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Operations)]
    public int HandWrittenLoop() => FilterName switch
    {
        "lifecycle" => Loop<Baselines.LifecycleSet>(),
        "lifecycle_uid" => Loop<Baselines.LifecycleNonRoot>(),
        "allowlist40" => Loop<Baselines.Allowlist>(),
        "exe_tmp" => Loop<Baselines.ExeInTmp>(),
        _ => Loop<Baselines.Deep>(),
    };

    private int Loop<T>() where T : IPredicate
    {
        int matches = 0;
        byte[] buffer = _records.Buffer;
        int[] offsets = _records.Offsets;
        uint[] verdicts = _verdicts;
        int count = _records.Count;
        for (int pass = 0; pass < _passes; pass++)
            for (int first = 0; first < count; first += BatchSize)
            {
                int n = Math.Min(BatchSize, count - first);
                for (int i = 0; i < n; i++)
                {
                    int start = offsets[first + i];
                    uint verdict = T.Match(buffer.AsSpan(start, offsets[first + i + 1] - start)) ? 1u : 0u;
                    verdicts[i] = verdict;
                    matches += (int)verdict;
                }
            }
        return matches;
    }

    /// <summary>One RunBatch call per 1024 records: the program's loop runs inside the compiled code.</summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    public int JitBatch() => Batches(_jit);

    [Benchmark(OperationsPerInvoke = Operations)]
    public int JitMatchIndices()
    {
        int matches = 0;
        var filter = _jit;
        int count = _records.Count;
        for (int pass = 0; pass < _passes; pass++)
            for (int first = 0; first < count; first += BatchSize)
            {
                int n = Math.Min(BatchSize, count - first);
                matches += filter.MatchIndices(new RecordBatch(_records.Buffer, _records.Offsets.AsSpan(first, n + 1)), _indices);
            }
        return matches;
    }

    /// <summary>The same loop calling the single-record delegate: what the batch entry point saves.</summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    public int JitPerRecord()
    {
        int matches = 0;
        var filter = _jit;
        byte[] buffer = _records.Buffer;
        int[] offsets = _records.Offsets;
        uint[] verdicts = _verdicts;
        int count = _records.Count;
        for (int pass = 0; pass < _passes; pass++)
            for (int first = 0; first < count; first += BatchSize)
            {
                int n = Math.Min(BatchSize, count - first);
                for (int i = 0; i < n; i++)
                {
                    int start = offsets[first + i];
                    uint verdict = filter.Run(new Record(buffer.AsSpan(start, offsets[first + i + 1] - start)));
                    verdicts[i] = verdict;
                    if (verdict != 0) matches++;
                }
            }
        return matches;
    }

    [Benchmark(OperationsPerInvoke = Operations)]
    public int InterpreterBatch() => Batches(_interpreter);

    /// <summary>Only the RecordBatch constructor's one-pass check of the offsets, included in every batch column.</summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    public int BatchValidation()
    {
        int records = 0;
        int count = _records.Count;
        for (int pass = 0; pass < _passes; pass++)
            for (int first = 0; first < count; first += BatchSize)
                records += new RecordBatch(_records.Buffer, _records.Offsets.AsSpan(first, Math.Min(BatchSize, count - first) + 1)).Count;
        return records;
    }

    private int Batches(IRecordFilter filter)
    {
        int matches = 0;
        int count = _records.Count;
        for (int pass = 0; pass < _passes; pass++)
            for (int first = 0; first < count; first += BatchSize)
            {
                int n = Math.Min(BatchSize, count - first);
                matches += filter.RunBatch(new RecordBatch(_records.Buffer, _records.Offsets.AsSpan(first, n + 1)), _verdicts);
            }
        return matches;
    }
}

/// <summary>
/// What compiling costs, from the verifier's output to the first verdict, for a fresh
/// <see cref="VerifiedProgram"/> each time (<see cref="Jit.Compile"/> caches by instance, so every
/// invocation verifies the bytes again; <c>Verify</c> is that share, to subtract):
/// <list type="bullet">
/// <item><c>Compile</c>: IL emission and <c>CreateDelegate</c>;</item>
/// <item><c>CompileAndRun</c>: plus the runtime's JIT of the single-record method (on its first call);</item>
/// <item><c>CompileAndRunBatch</c>: <c>Compile</c> plus IL and machine code of the batch loop, which a filter
///   compiles on its first batch.</item>
/// </list>
/// Programs: <c>set6</c> = the 6-syscall lifecycle set (10 instructions), <c>deep30</c> = FilterBenchmarks'
/// 30-comparison filter, <c>chain4096</c> = <c>a0 == 1 || a1 == 8 || ...</c> over ten fields, 2047 terms:
/// exactly 4096 instructions (the instruction limit until issue 21; a size the compile figures keep).
/// </summary>
[MemoryDiagnoser]
public class JitCompileBenchmarks
{
    [Params("set6", "deep30", "chain4096")]
    public string Shape { get; set; } = "set6";

    private byte[] _bytes = null!;
    private byte[] _record = null!;
    private readonly int[] _offsets = new int[2];
    private readonly uint[] _verdicts = new uint[1];

    public static string Source(string shape) => shape switch
    {
        "set6" => FilterBenchmarks.Filters["lifecycle"],
        "deep30" => FilterBenchmarks.Filters["deep30"],
        _ => Chain(2047),
    };

    private static string Chain(int terms)
    {
        string[] fields = ["a0", "a1", "a2", "a3", "a4", "a5", "uid", "gid", "pid", "exit"];
        return string.Join(" || ", Enumerable.Range(0, terms).Select(i => $"{fields[i % fields.Length]} == {i * 7 + 1}"));
    }

    [GlobalSetup]
    public void Setup()
    {
        var compilation = FilterCompiler.Compile(Source(Shape));
        if (!compilation.Success) throw new InvalidOperationException(compilation.RenderDiagnostics());
        _bytes = compilation.Image!.Encode();
        if (Shape == "chain4096" && compilation.Image.Code.Count != 4096)
            throw new InvalidOperationException($"chain4096 compiled to {compilation.Image.Code.Count} instructions");
        var records = RecordSet.Build(1);
        _record = records.Buffer;
        _offsets[1] = _record.Length;
    }

    private VerifiedProgram Fresh() => FilterProgram.Load(FilterSource.FromBytecode(_bytes, "chain4096")).EnsureProgram();

    [Benchmark(Baseline = true)]
    public VerifiedProgram Verify() => Fresh();

    [Benchmark]
    public JitFilter Compile() => Jit.Compile(Fresh());

    [Benchmark]
    public uint CompileAndRun() => Jit.Compile(Fresh()).Run(new Record(_record));

    [Benchmark]
    public int CompileAndRunBatch() => Jit.Compile(Fresh()).RunBatch(new RecordBatch(_record, _offsets), _verdicts);
}
