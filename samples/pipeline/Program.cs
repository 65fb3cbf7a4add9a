// An application embedding the audit pipeline: a simulated syscall layer on two threads, and two
// subscribers with different filters — an intrusion detector that wants process creation and crashes,
// and a log writer that wants failed calls. The log writer is deliberately slow and has a small queue,
// so it loses records; it is told so by record-failed markers, and the accounting adds up.
//
//   dotnet run --project samples/pipeline [-- audit.log]   (with a log: replay it instead of simulating)

using Filter.Audit.Formats;
using Filter.Audit.Pipeline;
using Filter.Compiler;
using Filter.VM;

static IRecordFilter Compile(string source) => RecordFilters.Create(FilterProgram.Compile(source).EnsureProgram(), EngineKind.Jit);

var pipeline = new AuditPipeline();
pipeline.UninstrumentedSyscall += (arch, nr) => Console.WriteLine($"warning: uninstrumented syscall {nr} (arch 0x{arch:x8})");
pipeline.SetAuditing(1, false);   // our own "audit daemon" pid: never audited

// A policy: each delivered record carries the key of the rule that matched it (e.Key), as auditd's key=.
var ids = pipeline.Subscribe("ids",
    Compile("""
        always "exec": type == syscall && syscall in (execve, fork, clone)
        always "crash": type == signal && sig in (SIGSEGV, SIGBUS)
        """),
    capacity: 32768);
var log = pipeline.Subscribe("log", Compile("type == syscall && !success"), capacity: 16);

async Task Consume(Subscription s, int delayMs)
{
    long records = 0;
    var byKey = new SortedDictionary<string, long>(StringComparer.Ordinal);
    await foreach (var e in s.ReadAllAsync())
    {
        if (e.Kind == AuditEventKind.RecordsLost) { Console.WriteLine($"[{s.Name}] {e}"); continue; }
        records++;
        byKey[e.Key] = byKey.GetValueOrDefault(e.Key) + 1;
        if (delayMs > 0) await Task.Delay(delayMs);
    }
    Console.WriteLine($"[{s.Name}] read {records} records" +
        (byKey.Keys.Any(k => k.Length > 0) ? $" ({string.Join(", ", byKey.Select(kv => $"{kv.Key}: {kv.Value}"))})" : ""));
}

var consumers = new[] { Consume(ids, 0), Consume(log, 1) };

if (args.Length > 0)
{
    using var reader = AuditdReader.OpenFiles(args);
    var result = AuditdReplay.Run(reader, pipeline.CreateContext(), e => Console.Error.WriteLine(e));
    Console.WriteLine($"replayed {result}");
}
else
{
    var creds = new AuditCredentials(Ppid: 1, Auid: 1000, Uid: 1000, Gid: 1000, Euid: 1000);
    var threads = Enumerable.Range(0, 2).Select(t => Task.Run(() =>
    {
        var ctx = pipeline.CreateContext();          // one context per thread,
        ctx.SetTask((uint)(100 + t), creds, "worker"u8, "/usr/bin/worker"u8);   // told who the thread is once
        for (uint i = 0; i < 200_000; i++)
        {
            uint nr = (i % 50) switch { 0 => 59u, 1 => 56u, 2 => 2u, _ => 96u };   // execve, clone, open, gettimeofday
            ctx.Open(AuditArch.X86_64, nr);
            if (nr != 2 || i % 3 != 0) ctx.SubmitArguments(i);   // "open" is sometimes uninstrumented
            bool ok = nr != 2 || i % 4 != 0;
            ctx.Close(ok ? 3 : -13, ok, i);
            if (i % 10_000 == 0) ctx.Signal(i % 20_000 == 0 ? 11u : 14u, i);   // SIGSEGV or SIGALRM
        }
    })).ToArray();
    await Task.WhenAll(threads);
}

pipeline.Complete();
await Task.WhenAll(consumers);
foreach (var s in new[] { ids, log })
{
    var st = s.Stats;
    Console.WriteLine($"{s.Name}: produced {st.Produced} = delivered {st.Delivered} + filtered out {st.FilteredOut} + lost {st.Lost}" +
        $" ({(st.Balanced ? "balanced" : "NOT BALANCED")}), {st.MarkersDelivered} markers");
}
Console.WriteLine($"uninstrumented calls: {pipeline.UninstrumentedCalls}");
