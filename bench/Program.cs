using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Filter.Bench;

// dotnet run -c Release --project bench -- --quick                 (the one table, FilterBenchmarks: 100,000 records,
//                                                                    in-process, 3 iterations; under a minute)
// dotnet run -c Release --project bench -- --quick --filter '*X*'   (other classes, quickly)
// dotnet run -c Release --project bench -- --filter '*'            (full BenchmarkDotNet run: 1,000,000 records)
bool quick = args.Contains("--quick");
string[] rest = args.Where(a => a != "--quick").ToArray();
// FILTER_BENCH_RECORDS=N chooses the array size (e.g. 4000: records that stay in L2); --quick defaults it to 100,000.
if (quick && Environment.GetEnvironmentVariable(FilterBenchmarks.RecordCountVariable) is null)
    Environment.SetEnvironmentVariable(FilterBenchmarks.RecordCountVariable, "100000");
if (rest.Length == 0) rest = ["--filter", quick ? $"*{nameof(FilterBenchmarks)}*" : "*"];

IConfig? config = quick
    ? DefaultConfig.Instance
        .AddJob(Job.Dry
            .WithToolchain(InProcessEmitToolchain.Instance) // no child build: the quick run must fit in a minute
            .WithWarmupCount(1)
            .WithIterationCount(3)
            .WithLaunchCount(1)
            .WithInvocationCount(1)
            .WithUnrollFactor(1)
            .WithStrategy(BenchmarkDotNet.Engines.RunStrategy.Throughput)
            .WithId("quick"))
        .AddDiagnoser(MemoryDiagnoser.Default)
        .HideColumns(Column.Error, Column.StdDev, Column.Median, Column.RatioSD)
        .WithOptions(ConfigOptions.DisableOptimizationsValidator)
    : null;

BenchmarkSwitcher.FromAssembly(typeof(FilterBenchmarks).Assembly).Run(rest, config);
