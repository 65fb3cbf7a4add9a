using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Filter.Compiler;
using Filter.Testing;
using Filter.VM;

namespace Filter.Bench;

/// <summary>
/// What a policy's rule count costs per record: auditctl-like policies (<see cref="LargePolicies"/>: each rule one
/// syscall and one field test) of 1, 1,000 and 10,000 rules on the same records as <see cref="FilterBenchmarks"/>,
/// per engine, side by side in one run. Ratio is against the one-rule policy of the same engine (issue 21's
/// target: 1,000 rules at most 1.5x). Mean is nanoseconds per record.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class PolicyBenchmarks
{
    private const int Operations = 1_000_000;

    private RecordSet _records = null!;
    private int _passes;
    private readonly Dictionary<int, (InterpretedFilter Interpreter, JitFilter Jit)> _filters = [];

    [GlobalSetup]
    public void Setup()
    {
        int count = int.TryParse(Environment.GetEnvironmentVariable(FilterBenchmarks.RecordCountVariable), out int n) ? n : Operations;
        _records = RecordSet.Build(count);
        _passes = Operations / count;
        foreach (int rules in (int[])[1, 1_000, 10_000])
        {
            var program = FilterProgram.Compile(LargePolicies.Generate(rules)).EnsureProgram();
            _filters[rules] = (new InterpretedFilter(program), Jit.Compile(program));
            // The engines agree with each other on every record (the tests check them against the reference).
            for (int i = 0; i < _records.Count; i++)
                if (_filters[rules].Interpreter.Run(new Record(_records[i])) != _filters[rules].Jit.Run(new Record(_records[i])))
                    throw new InvalidOperationException($"{rules} rules: the engines disagree on record {i}");
        }
    }

    private int Interpret(int rules)
    {
        int matches = 0;
        var (filter, records) = (_filters[rules].Interpreter, _records);
        for (int pass = 0; pass < _passes; pass++)
            for (int i = 0; i < records.Count; i++)
                if (filter.Run(new Record(records[i])) != 0) matches++;
        return matches;
    }

    private int RunJit(int rules)
    {
        int matches = 0;
        var (filter, records) = (_filters[rules].Jit, _records);
        for (int pass = 0; pass < _passes; pass++)
            for (int i = 0; i < records.Count; i++)
                if (filter.Run(new Record(records[i])) != 0) matches++;
        return matches;
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Operations), BenchmarkCategory("Interpreter")]
    public int Interpreter_1Rule() => Interpret(1);

    [Benchmark(OperationsPerInvoke = Operations), BenchmarkCategory("Interpreter")]
    public int Interpreter_1000Rules() => Interpret(1_000);

    [Benchmark(OperationsPerInvoke = Operations), BenchmarkCategory("Interpreter")]
    public int Interpreter_10000Rules() => Interpret(10_000);

    [Benchmark(Baseline = true, OperationsPerInvoke = Operations), BenchmarkCategory("Jit")]
    public int Jit_1Rule() => RunJit(1);

    [Benchmark(OperationsPerInvoke = Operations), BenchmarkCategory("Jit")]
    public int Jit_1000Rules() => RunJit(1_000);

    [Benchmark(OperationsPerInvoke = Operations), BenchmarkCategory("Jit")]
    public int Jit_10000Rules() => RunJit(10_000);
}

/// <summary>Compile and verify (the front door, text to a verified program) of a 1,000- and a 10,000-rule policy: issue 21's target is under 1 s for 10,000.</summary>
[MemoryDiagnoser]
public class PolicyCompileBenchmarks
{
    [Params(1_000, 10_000)]
    public int Rules { get; set; }

    private string _text = "";

    [GlobalSetup]
    public void Setup() => _text = LargePolicies.Generate(Rules);

    [Benchmark]
    public int CompileAndVerify() => FilterProgram.Compile(_text).EnsureProgram().InstructionCount;
}
