using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Filter.Audit.Live;
using Filter.Bytecode;
using Filter.Compiler;
using Filter.Kernel.Asm;
using Filter.Kernel.Btf;
using Filter.Kernel.Link;
using Filter.Kernel.Live;
using Filter.Kernel.Programs;
using Filter.Kernel.Sys;
using Filter.Verifier;
using Filter.VM;
using V = Filter.Verifier;

// The cost per system call of filtering in the kernel (bench/README.md, "In the kernel"), in one run: a
// getppid loop on this thread (libc's getppid is the bare system call) with nothing attached; with our
// programs rejecting the call at the syscall test, or after gathering the record; with them matching every
// call while another thread drains the ring buffer; with one kernel audit rule for getppid that matches
// nothing; with one that logs every call through auditd (needs auditd running). Then the sustained matched
// rate and the load time of a 1,000-rule policy. Each loop is timed 5 times; the median is printed. Audit
// rules have their own key (filter-kernel-bench-PID) and are removed in a finally. Root only.

// Program time per run comes from a separate loop with the kernel's BPF run-time statistics on. A second
// argument "reject" runs only the rejecting modes and the floor (an empty program at sys_exit).
int calls = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 2_000_000;
bool rejectOnly = args.Length > 1 && args[1] == "reject";
int pid = Environment.ProcessId;
Console.WriteLine($"kernel-trace-bench: {calls:N0} getppid calls per loop, median of 5; kernel {Environment.OSVersion.Version}, {Environment.ProcessorCount} CPUs; load average {File.ReadAllText("/proc/loadavg").Trim()}");

// Each mode is timed against nothing attached in alternation (5 rounds of both), so that a change of the
// machine's load between modes does not show as a cost: printed are the medians and the median difference.
double nothing = Median(() => Loop(calls));
Console.WriteLine($"{"nothing attached",-58} {nothing,8:F1} ns/call");

// The floor: what the kernel charges for any program at sys_exit (the tracepoint's slow path for every
// syscall, the BPF trampoline), here one that returns at once.
Floor();

Mode("ours: another syscall's filter (rejected at the syscall test)", "syscall == openat && uid == 4242", drain: false);
Mode("ours: getppid's filter, rejected after gathering the record", "syscall == getppid && uid == 4242", drain: false);
if (rejectOnly) return;
Mode("ours: every call matches, a thread drains the ring", $"syscall == getppid && pid == {pid}", drain: true);

AuditMode("kernel audit: one getppid rule matching nothing", [(AuditRule.FieldPid, 0x7ffffff0u)], calls);
if (Process.GetProcessesByName("auditd").Length > 0)
    AuditMode("kernel audit: a rule logging every call through auditd", [(AuditRule.FieldPid, (uint)pid)], Math.Max(1, calls / 40));
else Console.WriteLine("kernel audit: a rule logging every call: skipped (auditd is not running)");

// Sustained: as fast as the loop goes for 3 s, every call matched and drained.
{
    var program = Compile($"syscall == getppid && pid == {pid}");
    using var trace = KernelTrace.Start(program).Value;
    long received = 0;
    using var cts = new CancellationTokenSource();
    var consumer = Task.Run(() => { KernelEventHandler count = (in KernelEvent _) => received++; while (!cts.IsCancellationRequested) trace.Read(count, 10); while (trace.Read(count, 0) > 0) { } });
    var clock = Stopwatch.StartNew();
    long n = 0;
    while (clock.ElapsedMilliseconds < 3000) { Loop(10_000); n += 10_000; }
    double s = clock.Elapsed.TotalSeconds;
    Thread.Sleep(200);
    cts.Cancel();
    consumer.Wait();
    var st = trace.Stats;
    Console.WriteLine($"{"sustained, every call matched and drained (3 s)",-58} {n / s,8:N0} calls/s, {received / s:N0} records/s received, {st.Lost} lost");
}

// Load time of a 1,000-rule policy (compile + verify + translate + load + attach, BTF parsed each time).
{
    var sb = new System.Text.StringBuilder();
    for (int i = 0; i < 1000; i++)
        sb.AppendLine((i % 3) switch
        {
            0 => $"always \"r{i}\": uid == {1000 + i} && exit < 0",
            1 => $"always \"r{i}\": exe startswith \"/opt/app{i}/\"",
            _ => $"always \"r{i}\": auid in ({i}, {i + 5000}..{i + 5100})",
        });
    string text = sb.ToString();
    var times = new List<double>();
    int insns = 0;
    for (int i = 0; i < 5; i++)
    {
        var clock = Stopwatch.StartNew();
        var program = Compile(text);
        using var trace = KernelTrace.Start(program).Value;
        times.Add(clock.Elapsed.TotalMilliseconds);
        insns = trace.ExitProgramLength;
    }
    times.Sort();
    Console.WriteLine($"{"load: a 1,000-rule policy, start to attached",-58} {times[2],8:F0} ms ({insns:N0} eBPF instructions at sys_exit)");
}

void Mode(string name, string filter, bool drain)
{
    var program = Compile(filter);
    var with = new List<double>();
    var without = new List<double>();
    var diffs = new List<double>();
    string programs = "";
    KernelTraceStats st = default;
    long received = 0;
    for (int round = 0; round < 5; round++)
    {
        double bare = Loop(calls);
        using var trace = KernelTrace.Start(program).Value;
        using var cts = new CancellationTokenSource();
        var consumer = drain
            ? Task.Run(() => { KernelEventHandler count = (in KernelEvent _) => Interlocked.Increment(ref received); while (!cts.IsCancellationRequested) trace.Read(count, 10); while (trace.Read(count, 0) > 0) { } })
            : Task.CompletedTask;
        double ns = Loop(calls);
        if (round == 0)
        {
            // Program time, measured apart: the kernel's run-time statistics read the clock twice per run,
            // which costs more than a rejecting program itself.
            var before = trace.ProgramStats();
            using (Bpf.EnableRunTimeStats().Value) Loop(calls);
            var after = trace.ProgramStats();
            programs = string.Join(", ", after.Zip(before).Where(p => p.First.Name is "filter_enter" or "filter_exit")
                .Select(p => $"{p.First.Name[7..]} {(double)(p.First.RunTimeNs - p.Second.RunTimeNs) / Math.Max(1, p.First.Runs - p.Second.Runs):F0} ns"));
        }
        Thread.Sleep(50);
        cts.Cancel();
        consumer.Wait();
        var s = trace.Stats;
        st = new(st.Seen + s.Seen, st.Gathered + s.Gathered, st.Matched + s.Matched, st.Lost + s.Lost);
        with.Add(ns);
        without.Add(bare);
        diffs.Add(ns - bare);
    }
    Console.WriteLine($"{name,-58} {with.Order().ElementAt(2),8:F1} ns/call  (+{diffs.Order().ElementAt(2):F1} over {without.Order().ElementAt(2):F1} alongside; " +
        $"program time per run: {programs}; matched {st.Matched:N0}, lost {st.Lost}{(drain ? $", received {received:N0}" : "")})");
}

void Floor()
{
    var btf = BtfSpec.LoadKernel().Value;
    var asm = new BpfAssembler();
    asm.MovImm(Reg.R0, 0);
    asm.Exit();
    var diffs = new List<double>();
    var with = new List<double>();
    string program = "";
    for (int round = 0; round < 5; round++)
    {
        double bare = Loop(calls);
        using var loaded = BpfProgram.Load(new ProgramSpec(ProgramType.Tracing, asm.Marshal(), "filter_floor", AttachType.TraceRawTp,
            btf.Find("btf_trace_sys_exit", BtfKind.Typedef)!.Value)).Value;
        using var link = BpfLink.AttachTracing(loaded, "tp_btf/sys_exit").Value;
        double ns = Loop(calls);
        if (round == 0)
        {
            var before = loaded.Stats();
            using (Bpf.EnableRunTimeStats().Value) Loop(calls);
            var after = loaded.Stats();
            program = $"{(double)(after.RunTimeNs - before.RunTimeNs) / Math.Max(1, after.RunCount - before.RunCount):F0} ns";
        }
        with.Add(ns);
        diffs.Add(ns - bare);
    }
    Console.WriteLine($"{"floor: an empty program at sys_exit",-58} {with.Order().ElementAt(2),8:F1} ns/call  (+{diffs.Order().ElementAt(2):F1}; program time per run: {program})");
}

void AuditMode(string name, AuditRuleField[] fields, int n)
{
    string key = $"filter-kernel-bench-{pid}";
    var rule = new AuditRule(AuditArch.X86_64, [110], key, fields); // 110: getppid on x86_64
    using var control = AuditControl.Open();
    var with = new List<double>();
    var diffs = new List<double>();
    for (int round = 0; round < 5; round++)
    {
        double bare = Loop(n);
        control.AddRule(rule);
        try { with.Add(Loop(n)); }
        finally { control.DeleteRule(rule); }
        diffs.Add(with[^1] - bare);
    }
    Console.WriteLine($"{name,-58} {with.Order().ElementAt(2),8:F1} ns/call  (+{diffs.Order().ElementAt(2):F1}; {n:N0} calls per loop)");
}

static VerifiedProgram Compile(string text) => V.Verifier.Verify(FilterCompiler.Compile(text).Image!).Program!;

static double Median(Func<double> run)
{
    var times = Enumerable.Range(0, 5).Select(_ => run()).Order().ToList();
    return times[2];
}

static double Loop(int n)
{
    var clock = Stopwatch.StartNew();
    for (int i = 0; i < n; i++) Native.getppid();
    return clock.Elapsed.TotalNanoseconds / n;
}

static partial class Native
{
    [LibraryImport("libc")]
    public static partial int getppid();
}
