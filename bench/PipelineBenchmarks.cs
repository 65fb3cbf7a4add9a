using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Filters;
using BenchmarkDotNet.Order;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Filter.Audit.Pipeline;
using Filter.Compiler;
using Filter.VM;

namespace Filter.Bench;

/// <summary>
/// The audit pipeline's commit path (issue 6, "Concurrency and speed"), per record and per producer thread.
/// A pool of <see cref="PoolSize"/> syscalls drawn from the mix of <see cref="RecordSet"/> (75%
/// read/write/clock_gettime, ~1% lifecycle calls, ...), made by <see cref="Tasks"/> threads, is replayed
/// through <see cref="AuditContext.Open(uint, uint)"/> → <see cref="AuditContext.SubmitArguments"/> →
/// <see cref="AuditContext.Close"/> as a syscall layer would call them, with one context per thread whose
/// identity (<see cref="AuditContext.SetTask"/>) was set when the thread started: one invocation commits
/// <see cref="Operations"/> records per producer,
/// so <b>Mean is nanoseconds per record per producer</b> (wall time of the invocation / records each producer
/// committed) and <c>Rec/s/producer</c> is 1e9 / Mean.
/// </summary>
/// <remarks>
/// <para>Methods:</para>
/// <list type="bullet">
/// <item><c>Pipeline</c>: <see cref="Producers"/> threads (the benchmark thread and Producers-1 parked
/// workers) commit concurrently into one pipeline with <see cref="Subscribers"/> subscribers, each with its
/// own instance of the filter (<see cref="RecordFilters.Create"/> with <see cref="Engine"/>) and a queue of
/// <see cref="QueueCapacity"/>; every subscriber has a consumer (<c>await foreach</c> over
/// <see cref="Subscription.ReadAllAsync"/> on the thread pool) draining concurrently. Between iterations the
/// benchmark waits (unmeasured) until every consumer has caught up. Records a queue could not take are lost,
/// not waited for: the <c>Lost</c> column (in-process runs) and a <c>// pipeline ...</c> log line per case give
/// them, with a check of the accounting identity. With no subscriber the filter is irrelevant, so only the
/// Jit/drop99 case of it runs.</item>
/// <item><c>DroppedPath</c>: the target, for the records the filter drops (the pool less the ones it
/// keeps): one producer, one subscriber whose filter drops every one of them: open, tag, submit, close, drop
/// (with one filter run, unless the filter's syscall match table already decided at open, as for drop99 and
/// keep50). Ratio = DroppedPath / FilterOnly, target ≤ 2; Allocated target 0.</item>
/// <item><c>DroppedPathWithIdentity</c>: the same through one context, with the identity passed on every
/// open (<see cref="AuditContext.Open(uint, uint, uint, in AuditCredentials, ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>),
/// as a layer must that has no context per thread: what writing pid, ids, comm and exe per record costs.</item>
/// <item><c>FilterOnly</c> (baseline): the same filter's <see cref="IRecordFilter.Run"/> (through the
/// interface, as the pipeline calls it) on the same dropped records, prepared in advance in one buffer,
/// in the same order. Setup checks that they are byte for byte the records the pipeline builds.</item>
/// </list>
/// <para>Both loops walk the same small pool (a few hundred KB: cache-resident, as the record being committed
/// is) in the same order, so the difference is the pipeline's own work.</para>
/// </remarks>
[MemoryDiagnoser]
[Config(typeof(PipelineConfig))]
[IterationCount(15)] // also in --quick: on a shared, loaded machine 3 samples say little; 15 give a usable Min
public class PipelineBenchmarks
{
    /// <summary>Records each producer commits per invocation of Pipeline (a whole number of passes over the pool).</summary>
    public const int Operations = 1 << 16;

    /// <summary>
    /// Records per invocation of DroppedPath and FilterOnly: well under a millisecond, so that on a busy
    /// machine some iterations run without being preempted and Min is the undisturbed cost.
    /// </summary>
    public const int ShortOperations = 1 << 15;

    /// <summary>Distinct syscalls replayed, cycled through; a power of two.</summary>
    public const int PoolSize = 4096;

    /// <summary>Threads the pool's syscalls come from (each with its own pid, ids, comm and exe), in random order.</summary>
    public const int Tasks = 16;

    public const int QueueCapacity = 1 << 14;

    /// <summary>
    /// Setup runs each case's loop until the JIT has compiled nothing for <see cref="WarmUpQuietMilliseconds"/>
    /// (at most <see cref="WarmUpMaxMilliseconds"/>). A quick run calls a benchmark only ~17 times, too few
    /// for tiered compilation to have promoted the loop and the pipeline's methods to their final, PGO-
    /// optimised code (measured: ~40 ns per dropped record before, ~24 after, the switch coming 300 to 600 ms
    /// after the first call on this machine); a full run's many invocations get there by themselves.
    /// </summary>
    private const int WarmUpQuietMilliseconds = 250, WarmUpMaxMilliseconds = 2000;

    public static readonly IReadOnlyDictionary<string, string> Filters = new Dictionary<string, string>
    {
        // ~1% of the mix: execve, clone, fork, exit_group.
        ["drop99"] = FilterBenchmarks.Filters["lifecycle"],
        // ~49% of the mix.
        ["keep50"] = "syscall in (read, clock_gettime)",
        // ~10% of the mix: failed calls. Unlike the two above, whether a record is dropped cannot be told
        // from its syscall number at open: every dropped record runs the filter at close.
        ["failed"] = "!success",
    };

    [Params(EngineKind.Jit, EngineKind.Interpreter)]
    public EngineKind Engine { get; set; }

    [Params("drop99", "keep50", "failed")]
    public string Filter { get; set; } = "drop99";

    [Params(1, 2)]
    public int Producers { get; set; } = 1;

    [Params(0, 1, 4)]
    public int Subscribers { get; set; } = 1;

    /// <summary>
    /// Each filter is compiled once per process, as an application would: the JIT caches its code per
    /// program, so every case (and every subscriber) of a filter runs the same compiled method. In a --quick
    /// run (one process) this also keeps dynamic PGO, which specialises shared call sites such as
    /// JitFilter.Run's delegate call for the targets it sees, from favouring one case's copy over another's.
    /// </summary>
    private static readonly ConcurrentDictionary<string, VerifiedProgram> Programs = new();

    /// <summary>Per case (method and parameters), what the pipeline did: read by <see cref="LostColumn"/> in-process.</summary>
    internal static readonly ConcurrentDictionary<string, string> Outcomes = new();

    private SyscallEvent[] _pool = null!;
    private TaskIdentity[] _tasks = null!;
    private bool[] _kept = null!;
    private VerifiedProgram _program = null!;

    // Pipeline
    private AuditPipeline _pipeline = null!;
    private AuditContext[][] _contexts = []; // [producer][task]
    private Subscription[] _subscriptions = [];
    private Consumer[] _consumers = [];
    private Worker[] _workers = [];
    private CountdownEvent _done = null!;
    private volatile bool _stopping;
    private long[] _timestamps = [];
    private long _invocations;

    // DroppedPath and FilterOnly: the pool less what the filter keeps.
    private SyscallEvent[] _dropped = null!;
    private byte[] _droppedBuffer = null!;
    private int[] _droppedOffsets = null!;
    private IRecordFilter _filter = null!;
    private AuditContext[] _droppedContexts = null!;
    private AuditContext _droppedIdentityContext = null!;
    private AuditPipeline _droppedPipeline = null!;
    private Subscription _droppedSubscription = null!;

    private string CaseKey(string method) => Key(method, Engine, Filter, Producers, Subscribers);

    internal static string Key(string method, object engine, object filter, object producers, object subscribers) =>
        $"{method}/{engine}/{filter}/{producers}/{subscribers}";

    // ------------------------------------------------------------------ setup shared by all methods

    private void CommonSetup()
    {
        var records = RecordSet.Build(PoolSize);
        // Thread t has the identity of record t of the mix; each syscall of the pool is made by a random thread.
        _tasks = new TaskIdentity[Tasks];
        for (int t = 0; t < Tasks; t++)
        {
            var r = new Record(records[t]);
            _tasks[t] = new TaskIdentity(r.U32(RecordLayout.Pid),
                new AuditCredentials(
                    r.U32(RecordLayout.Ppid), r.U32(RecordLayout.Auid), r.U32(RecordLayout.Uid), r.U32(RecordLayout.Gid),
                    r.U32(RecordLayout.Euid), r.U32(RecordLayout.Suid), r.U32(RecordLayout.Fsuid), r.U32(RecordLayout.Egid),
                    r.U32(RecordLayout.Sgid), r.U32(RecordLayout.Fsgid), r.U32(RecordLayout.Ses)),
                r.Comm.ToArray(), r.Exe.ToArray());
        }
        var random = new Random(20261127);
        _pool = new SyscallEvent[PoolSize];
        for (int i = 0; i < PoolSize; i++)
        {
            var r = new Record(records[i]);
            _pool[i] = new SyscallEvent
            {
                Task = random.Next(Tasks),
                Arch = r.Arch,
                Syscall = r.Syscall,
                A0 = r.U64(RecordLayout.A0), A1 = r.U64(RecordLayout.A1), A2 = r.U64(RecordLayout.A2),
                A3 = r.U64(RecordLayout.A3), A4 = r.U64(RecordLayout.A4), A5 = r.U64(RecordLayout.A5),
                Exit = r.Exit,
                Success = r.Success,
            };
        }

        _program = Programs.GetOrAdd(Filters[Filter], Verify);

        // The reference verdicts (interpreter), and a check that the filter keeps what its name says.
        _kept = new bool[PoolSize];
        int kept = 0;
        var built = Capture(_pool);
        for (int i = 0; i < PoolSize; i++)
            if (_kept[i] = global::Filter.VM.Interpreter.Run(_program, new Record(built.Record(i))) != 0) kept++;
        double fraction = (double)kept / PoolSize;
        bool plausible = Filter switch
        {
            "drop99" => fraction is > 0.002 and < 0.03,
            "keep50" => fraction is > 0.4 and < 0.6,
            _ => fraction is > 0.05 and < 0.15,
        };
        if (!plausible) throw new InvalidOperationException($"{Filter} keeps {fraction:P1} of the mix");
    }

    /// <summary>One context per thread of <see cref="Tasks"/>, each told its thread's identity once.</summary>
    private AuditContext[] CreateContexts(AuditPipeline pipeline)
    {
        var contexts = new AuditContext[Tasks];
        for (int t = 0; t < Tasks; t++)
        {
            contexts[t] = pipeline.CreateContext();
            contexts[t].SetTask(_tasks[t].Pid, _tasks[t].Credentials, _tasks[t].Comm, _tasks[t].Exe);
        }
        return contexts;
    }

    private static void Commit(AuditContext ctx, in SyscallEvent e, long timestamp, out int queued)
    {
        ctx.Open(e.Arch, e.Syscall);
        ctx.SubmitArguments(e.A0, e.A1, e.A2, e.A3, e.A4, e.A5);
        queued = ctx.Close(e.Exit, e.Success, timestamp);
    }

    /// <summary>
    /// The records the pipeline builds for <paramref name="events"/>, byte for byte: each is committed
    /// through a pipeline whose only subscriber keeps everything, and copied out of its queue.
    /// </summary>
    private (byte[] Buffer, int[] Offsets, Func<int, ReadOnlySpan<byte>> Record) Capture(SyscallEvent[] events)
    {
        var capture = new AuditPipeline();
        var all = capture.Subscribe("all", RecordFilters.Create(Verify("true"), EngineKind.Interpreter), events.Length);
        var contexts = CreateContexts(capture);
        var buffer = new MemoryStream();
        var offsets = new int[events.Length + 1];
        for (int i = 0; i < events.Length; i++)
        {
            Commit(contexts[events[i].Task], in events[i], i, out _);
            if (!all.TryRead(out var e) || e.Kind != AuditEventKind.Record) throw new InvalidOperationException("capture failed");
            offsets[i] = (int)buffer.Length;
            buffer.Write(e.Bytes.Span);
        }
        offsets[^1] = (int)buffer.Length;
        byte[] bytes = buffer.ToArray();
        return (bytes, offsets, i => bytes.AsSpan(offsets[i], offsets[i + 1] - offsets[i]));
    }

    // ------------------------------------------------------------------ Pipeline

    [GlobalSetup(Target = nameof(Pipeline))]
    public void SetupPipeline()
    {
        CommonSetup();
        _pipeline = new AuditPipeline();
        _subscriptions = new Subscription[Subscribers];
        _consumers = new Consumer[Subscribers];
        for (int s = 0; s < Subscribers; s++)
        {
            _subscriptions[s] = _pipeline.Subscribe($"s{s}", RecordFilters.Create(_program, Engine), QueueCapacity);
            _consumers[s] = new Consumer(_subscriptions[s]);
        }
        _contexts = new AuditContext[Producers][];
        for (int p = 0; p < Producers; p++) _contexts[p] = CreateContexts(_pipeline);
        _timestamps = new long[Producers];
        _done = new CountdownEvent(0);
        _workers = new Worker[Producers - 1];
        for (int w = 0; w < _workers.Length; w++)
        {
            var worker = _workers[w] = new Worker(w + 1);
            worker.Thread = new Thread(() => WorkerLoop(worker)) { IsBackground = true, Name = $"producer {w + 1}" };
            worker.Thread.Start();
        }
        WarmUp(() => Produce(0, PoolSize)); // whole passes: the accounting check at cleanup stays exact
    }

    private static void WarmUp(Action step)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long compiled = System.Runtime.JitInfo.GetCompiledMethodCount(), changedAt = 0;
        while (clock.ElapsedMilliseconds < WarmUpMaxMilliseconds)
        {
            step();
            long now = System.Runtime.JitInfo.GetCompiledMethodCount();
            if (now != compiled) (compiled, changedAt) = (now, clock.ElapsedMilliseconds);
            else if (clock.ElapsedMilliseconds - changedAt >= WarmUpQuietMilliseconds) break;
        }
        Console.WriteLine($"// warm-up: {clock.ElapsedMilliseconds} ms");
    }

    [IterationSetup(Target = nameof(Pipeline))]
    public void CatchUp()
    {
        // Unmeasured: let the consumers finish what the last iteration queued, so each starts from empty queues.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        foreach (var s in _subscriptions)
            while (s.Stats is var st && st.Consumed < st.Delivered)
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"{s}: consumer stuck at {st.Consumed} of {st.Delivered}");
                Thread.Sleep(1);
            }
    }

    /// <summary>Every producer commits <see cref="Operations"/> records; returns how many copies were queued.</summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    public long Pipeline()
    {
        _invocations++;
        if (_workers.Length == 0) return Produce(0, Operations);
        _done.Reset(_workers.Length);
        foreach (var w in _workers) w.Go.Release();
        long queued = Produce(0, Operations);
        _done.Wait();
        foreach (var w in _workers) queued += w.Queued;
        return queued;
    }

    private long Produce(int producer, int count)
    {
        var contexts = _contexts[producer];
        var pool = _pool;
        long timestamp = _timestamps[producer];
        long queued = 0;
        int at = producer * (PoolSize / 2); // producers start half a pool apart
        for (int i = 0; i < count; i++)
        {
            ref readonly var e = ref pool[at];
            Commit(contexts[e.Task], in e, ++timestamp, out int q);
            queued += q;
            at = (at + 1) & (PoolSize - 1);
        }
        _timestamps[producer] = timestamp;
        return queued;
    }

    private void WorkerLoop(Worker worker)
    {
        while (true)
        {
            worker.Go.Wait();
            if (_stopping) return;
            worker.Queued = Produce(worker.Index, Operations);
            _done.Signal();
        }
    }

    [GlobalCleanup(Target = nameof(Pipeline))]
    public void CleanupPipeline()
    {
        _stopping = true;
        foreach (var w in _workers) { w.Go.Release(); w.Thread.Join(); }
        var stats = _subscriptions.Select(s => s.Stats).ToArray();
        _pipeline.Complete();
        if (!Task.WaitAll(_consumers.Select(c => c.Task).ToArray(), TimeSpan.FromSeconds(30)))
            throw new TimeoutException("a consumer did not end after Complete");

        // Each producer made whole passes over the pool, so every subscriber's split is known exactly.
        long produced = _contexts.Sum(p => p.Sum(c => c.Committed));
        long keptPerPass = _kept.Count(k => k);
        long lost = 0, wanted = 0;
        var problems = new List<string>();
        for (int s = 0; s < stats.Length; s++)
        {
            var st = stats[s];
            var c = _consumers[s];
            if (!st.Balanced) problems.Add($"s{s} unbalanced {st}");
            if (st.Produced != produced) problems.Add($"s{s} produced {st.Produced} of {produced}");
            if (st.Delivered + st.Lost != produced / PoolSize * keptPerPass) problems.Add($"s{s} wanted {st.Delivered + st.Lost}, expected {produced / PoolSize * keptPerPass}");
            if (c.Records != st.Delivered) problems.Add($"s{s} read {c.Records} of {st.Delivered}");
            if (c.LostInMarkers != st.Lost) problems.Add($"s{s} markers announced {c.LostInMarkers} lost of {st.Lost}");
            lost += st.Lost;
            wanted += st.Delivered + st.Lost;
        }
        string outcome = Subscribers == 0 ? "-" : lost == 0 ? "0" : $"{(double)lost / wanted:P2}";
        Outcomes[CaseKey(nameof(Pipeline))] = outcome;
        Console.WriteLine($"// pipeline {Engine}/{Filter} producers={Producers} subscribers={Subscribers}: {_invocations} invocations, "
            + $"{produced:N0} records committed, {wanted:N0} wanted ({(produced == 0 ? 0 : (double)wanted / produced / Math.Max(1, Subscribers)):P1} per subscriber), "
            + $"lost {lost:N0} ({outcome}) in {_consumers.Sum(c => c.Markers):N0} markers"
            + (problems.Count == 0 ? "; accounting exact" : "; PROBLEMS: " + string.Join("; ", problems)));
        if (problems.Count > 0) throw new InvalidOperationException(string.Join("; ", problems));
    }

    // ------------------------------------------------------------------ DroppedPath and FilterOnly

    private void SetupDropped()
    {
        CommonSetup();
        var dropped = new List<SyscallEvent>();
        for (int i = 0; i < PoolSize; i++) if (!_kept[i]) dropped.Add(_pool[i]);
        _dropped = [.. dropped];
        _filter = RecordFilters.Create(_program, Engine);

        // FilterOnly reads the records exactly as the pipeline builds them.
        (_droppedBuffer, _droppedOffsets, var record) = Capture(_dropped);
        for (int i = 0; i < _dropped.Length; i++)
            if (_filter.Run(new Record(record(i))) != 0) throw new InvalidOperationException($"record {i} is not dropped");

        _droppedPipeline = new AuditPipeline();
        _droppedSubscription = _droppedPipeline.Subscribe("drops", RecordFilters.Create(_program, Engine), QueueCapacity);
        _droppedContexts = CreateContexts(_droppedPipeline);
        _droppedIdentityContext = _droppedPipeline.CreateContext();
    }

    private static VerifiedProgram Verify(string source) => FilterProgram.Compile(source).EnsureProgram();

    [GlobalSetup(Target = nameof(DroppedPath))]
    public void SetupDroppedPath()
    {
        SetupDropped();
        WarmUp(() => DroppedLoop(PoolSize));
    }

    [GlobalSetup(Target = nameof(DroppedPathWithIdentity))]
    public void SetupDroppedPathWithIdentity()
    {
        SetupDropped();
        WarmUp(() => DroppedWithIdentityLoop(PoolSize));
    }

    [GlobalSetup(Target = nameof(FilterOnly))]
    public void SetupFilterOnly()
    {
        SetupDropped();
        WarmUp(() => FilterLoop(PoolSize));
    }

    /// <summary>Open → SubmitArguments → Close of records no subscriber wants: one filter run each, nothing queued.</summary>
    [Benchmark(OperationsPerInvoke = ShortOperations)]
    public long DroppedPath() => DroppedLoop(ShortOperations);

    private long DroppedLoop(int count)
    {
        var contexts = _droppedContexts;
        var events = _dropped;
        long queued = 0, timestamp = 0;
        int j = 0;
        for (int i = 0; i < count; i++)
        {
            ref readonly var e = ref events[j];
            Commit(contexts[e.Task], in e, ++timestamp, out int q);
            queued += q;
            if (++j == events.Length) j = 0;
        }
        return queued;
    }

    /// <summary>As <see cref="DroppedPath"/>, through one context told the identity at every open.</summary>
    [Benchmark(OperationsPerInvoke = ShortOperations)]
    public long DroppedPathWithIdentity() => DroppedWithIdentityLoop(ShortOperations);

    private long DroppedWithIdentityLoop(int count)
    {
        var ctx = _droppedIdentityContext;
        var tasks = _tasks;
        var events = _dropped;
        long queued = 0, timestamp = 0;
        int j = 0;
        for (int i = 0; i < count; i++)
        {
            ref readonly var e = ref events[j];
            var task = tasks[e.Task];
            ctx.Open(e.Arch, e.Syscall, task.Pid, task.Credentials, task.Comm, task.Exe);
            ctx.SubmitArguments(e.A0, e.A1, e.A2, e.A3, e.A4, e.A5);
            queued += ctx.Close(e.Exit, e.Success, ++timestamp);
            if (++j == events.Length) j = 0;
        }
        return queued;
    }

    /// <summary>The filter alone, through <see cref="IRecordFilter"/> as the pipeline calls it, on the same records prepared in advance.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = ShortOperations)]
    public long FilterOnly() => FilterLoop(ShortOperations);

    private long FilterLoop(int count)
    {
        var filter = _filter;
        byte[] buffer = _droppedBuffer;
        int[] offsets = _droppedOffsets;
        int records = offsets.Length - 1;
        long matches = 0;
        int j = 0;
        for (int i = 0; i < count; i++)
        {
            int start = offsets[j];
            matches += filter.Run(new Record(buffer.AsSpan(start, offsets[j + 1] - start))) != 0 ? 1 : 0;
            if (++j == records) j = 0;
        }
        return matches;
    }

    [GlobalCleanup(Targets = [nameof(DroppedPath), nameof(DroppedPathWithIdentity), nameof(FilterOnly)])]
    public void CleanupDropped()
    {
        if (_droppedSubscription is null) return;
        var st = _droppedSubscription.Stats;
        if (st.Delivered + st.Lost != 0 || !st.Balanced)
            throw new InvalidOperationException($"the dropped path queued records: {st}");
        Outcomes[CaseKey(nameof(DroppedPath))] = "-";
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>A syscall as the syscall layer sees it: the thread that made it, and its own fields.</summary>
    private struct SyscallEvent
    {
        public int Task;
        public uint Arch, Syscall;
        public ulong A0, A1, A2, A3, A4, A5;
        public long Exit;
        public bool Success;
    }

    private sealed record TaskIdentity(uint Pid, AuditCredentials Credentials, byte[] Comm, byte[] Exe);

    private sealed class Worker(int index)
    {
        public readonly int Index = index;
        public readonly SemaphoreSlim Go = new(0);
        public Thread Thread = null!;
        public long Queued;
    }

    /// <summary>A subscriber's reader, as an application writes it.</summary>
    private sealed class Consumer
    {
        public long Records, Markers, LostInMarkers, Checksum;
        public readonly Task Task;

        public Consumer(Subscription subscription) => Task = Task.Run(() => Read(subscription));

        private async Task Read(Subscription subscription)
        {
            await foreach (var e in subscription.ReadAllAsync().ConfigureAwait(false))
            {
                if (e.Kind == AuditEventKind.RecordsLost)
                {
                    Markers++;
                    LostInMarkers += e.LostCount;
                }
                else
                {
                    Records++;
                    Checksum += e.Bytes.Span[RecordLayout.Syscall]; // touch the record
                }
            }
        }
    }

    // ------------------------------------------------------------------ configuration and columns

    private sealed class PipelineConfig : ManualConfig
    {
        public PipelineConfig()
        {
            AddFilter(new SimpleFilter(Runs));
            WithOrderer(new JitFirst());
            AddColumn(StatisticColumn.Min, new MinRatioColumn(), new RecordsPerSecondColumn(), new AllocatedPerRecordColumn(), new LostColumn());
        }

        /// <summary>Which of the parameter combinations each method needs.</summary>
        private static bool Runs(BenchmarkCase c)
        {
            if (c.Descriptor.Type != typeof(PipelineBenchmarks)) return true;
            int producers = (int)c.Parameters[nameof(Producers)];
            int subscribers = (int)c.Parameters[nameof(Subscribers)];
            string filter = (string)c.Parameters[nameof(Filter)];
            return c.Descriptor.WorkloadMethod.Name switch
            {
                // "failed" is there for the dropped path (decided at close, not open); the pipeline rows keep to two filters.
                nameof(Pipeline) => filter != "failed" && (subscribers > 0
                    || ((EngineKind)c.Parameters[nameof(Engine)] == EngineKind.Jit && filter == "drop99")),
                _ => producers == 1 && subscribers == 1,
            };
        }
    }

    /// <summary>
    /// Runs the JIT's cases before the interpreter's. In a --quick run every case shares one process, so a
    /// shared call site (the filter call in AuditContext's commit loop, in FilterOnly's loop) is specialised
    /// by dynamic PGO for the engine that ran first, and the other engine pays an interface dispatch
    /// (a few ns). The JIT is the default engine and the one the target is hardest for, so it gets
    /// the clean measurement; a full run (a process per case) has no such bias.
    /// </summary>
    private sealed class JitFirst() : DefaultOrderer
    {
        public override IEnumerable<BenchmarkCase> GetExecutionOrder(System.Collections.Immutable.ImmutableArray<BenchmarkCase> benchmarkCases,
            IEnumerable<BenchmarkLogicalGroupRule>? order = null) =>
            base.GetExecutionOrder(benchmarkCases, order)
                .OrderBy(c => c.Descriptor.Type == typeof(PipelineBenchmarks) && Equals(c.Parameters[nameof(Engine)], EngineKind.Jit) ? 0 : 1);
    }

    private sealed class RecordsPerSecondColumn() : CustomColumn("Rec/s/producer", "Records committed per second by each producer thread: 1e9 / Mean")
    {
        public override string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            double? meanNs = summary[benchmarkCase]?.ResultStatistics?.Mean;
            return meanNs is > 0 ? $"{1e9 / meanNs.Value / 1e6:N2} M" : "NA";
        }
    }

    /// <summary>
    /// Min / Min of FilterOnly with the same engine and filter: the ratio least disturbed by other processes
    /// (a preempted iteration only ever adds time). Shown for DroppedPath and FilterOnly.
    /// </summary>
    private sealed class MinRatioColumn() : CustomColumn("Ratio(min)", "DroppedPath's Min / FilterOnly's Min, same engine and filter: the issue's target is <= 2")
    {
        public override string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            string method = benchmarkCase.Descriptor.WorkloadMethod.Name;
            if (method is not (nameof(DroppedPath) or nameof(DroppedPathWithIdentity) or nameof(FilterOnly))) return "-";
            var baseline = summary.BenchmarksCases.FirstOrDefault(c => c.Descriptor.WorkloadMethod.Name == nameof(FilterOnly)
                && Equals(c.Parameters[nameof(Engine)], benchmarkCase.Parameters[nameof(Engine)])
                && Equals(c.Parameters[nameof(Filter)], benchmarkCase.Parameters[nameof(Filter)]));
            double? min = summary[benchmarkCase]?.ResultStatistics?.Min, baseMin = baseline is null ? null : summary[baseline]?.ResultStatistics?.Min;
            return min is > 0 && baseMin is > 0 ? $"{min.Value / baseMin.Value:0.00}" : "NA";
        }
    }

    private sealed class AllocatedPerRecordColumn() : CustomColumn("B/record", "Bytes allocated per record, all threads (consumers included), unrounded")
    {
        public override string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var gc = summary[benchmarkCase]?.GcStats;
            if (gc is not { } stats || stats.TotalOperations == 0) return "NA";
            long? bytes = stats.GetTotalAllocatedBytes(excludeAllocationQuantumSideEffects: true);
            return bytes is { } b ? $"{(double)b / stats.TotalOperations:0.###}" : "NA";
        }
    }

    private sealed class LostColumn() : CustomColumn("Lost", "Records lost (queue full) / records the subscribers wanted, over the whole case; in-process runs only (else see the log)")
    {
        public override string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var p = benchmarkCase.Parameters;
            string key = Key(benchmarkCase.Descriptor.WorkloadMethod.Name, p[nameof(Engine)], p[nameof(Filter)], p[nameof(Producers)], p[nameof(Subscribers)]);
            return Outcomes.TryGetValue(key, out var v) ? v : "-";
        }
    }
}
