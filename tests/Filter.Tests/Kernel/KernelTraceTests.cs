using System.Diagnostics;
using System.Text;
using Filter.Audit.Live;
using Filter.Audit.Pipeline;
using Filter.Kernel.Live;
using Filter.Kernel.Sys;
using Filter.Tests.Engines;
using Filter.VM;
using Filter.Tests.Live;
using Xunit;
using Xunit.Abstractions;

namespace Filter.Tests.Kernel;

/// <summary>
/// The live programs at sys_exit on this machine: a workload with its own loginuid makes known calls and the
/// trace yields exactly those records; nothing of ours stays attached afterwards, SIGTERM to <c>filterc trace</c>
/// included. Root, BPF and BTF needed (<see cref="KernelRequirements.RequireBpfTracing"/>); skipped elsewhere.
/// </summary>
[Collection(KernelCollection.Name), Trait(KernelRequirements.Category, KernelRequirements.Kernel)]
public class KernelTraceTests(ITestOutputHelper output)
{
    private const int Calls = 50;
    private const ulong Who = 99999999;

    /// <summary>A loginuid no session has: the workload's records are told apart from every other process's.</summary>
    private static uint UniqueLoginUid() => 3_000_000_000u + (uint)Random.Shared.Next(1_000_000);

    /// <summary>perl (in every Debian base) sets its loginuid, then fails getpriority(PRIO_PROCESS, 99999999) with ESRCH 50 times.</summary>
    private static Process StartWorkload(uint loginuid, int delayMs = 300)
    {
        var start = new ProcessStartInfo("perl") { RedirectStandardError = true };
        start.ArgumentList.Add("-e");
        start.ArgumentList.Add($"open(F, '>', '/proc/self/loginuid') or die $!; print F '{loginuid}'; close F or die $!; select(undef, undef, undef, {delayMs / 1000.0}); getpriority(0, {Who}) for 1..{Calls};");
        return Process.Start(start)!;
    }

    private static VerifiedProgram Filter(uint loginuid) => TestPrograms.CompileAndVerify($"syscall == getpriority && auid == {loginuid}");

    [SkippableFact]
    public void AWorkloadYieldsExactlyItsCalls()
    {
        KernelRequirements.RequireBpfTracing();
        uint loginuid = UniqueLoginUid();
        var started = KernelTrace.Start(Filter(loginuid));
        Assert.True(started.Ok, started.Error?.Message);
        var records = new List<byte[]>();
        int pid;
        using (var trace = started.Value)
        {
            using var workload = StartWorkload(loginuid);
            pid = workload.Id;
            Assert.True(workload.WaitForExit(20_000));
            Assert.Equal(0, workload.ExitCode);
            KernelEventHandler keep = (in KernelEvent e) =>
            {
                Assert.Equal(1u, e.Verdict);
                records.Add(e.Bytes.ToArray());
            };
            for (int i = 0; i < 20 && records.Count < Calls; i++) trace.Read(keep, 100);
            trace.Read(keep, 200);
            output.WriteLine($"{trace.Stats}");
            Assert.Equal((ulong)Calls, trace.Stats.Matched);
            Assert.Equal(0ul, trace.Stats.Lost);
        }
        Assert.Equal(Calls, records.Count);
        foreach (var bytes in records)
        {
            var r = new Record(bytes);
            Assert.Equal(AuditArch.X86_64, r.Arch);
            Assert.Equal(140u, r.Syscall);
            Assert.Equal((uint)pid, r.U32(RecordLayout.Pid));
            Assert.Equal((uint)Environment.ProcessId, r.U32(RecordLayout.Ppid));
            Assert.Equal(loginuid, r.U32(RecordLayout.Auid));
            Assert.Equal(0u, r.U32(RecordLayout.Uid));
            Assert.Equal(0ul, r.U64(RecordLayout.A0));
            Assert.Equal(Who, r.U64(RecordLayout.A1));
            Assert.Equal(-3, r.Exit); // -ESRCH
            Assert.False(r.Success);
            Assert.Equal("perl", Encoding.UTF8.GetString(r.Comm));
            Assert.Equal(new FileInfo("/usr/bin/perl").ResolveLinkTarget(true)?.FullName ?? "/usr/bin/perl", Encoding.UTF8.GetString(r.Exe));
        }
    }

    /// <summary>
    /// execve, whose registers a successful exec resets: its arguments come from sys_enter (a0 the filename's
    /// address, not 0), comm and exe are the new image's (as audit logs them), the path with its symlinks resolved.
    /// </summary>
    [SkippableFact]
    public void ExecveKeepsItsArgumentsAndTheNewExe()
    {
        KernelRequirements.RequireBpfTracing();
        uint loginuid = UniqueLoginUid();
        var started = KernelTrace.Start(TestPrograms.CompileAndVerify($"syscall == execve && auid == {loginuid}"));
        Assert.True(started.Ok, started.Error?.Message);
        var records = new List<byte[]>();
        using (var trace = started.Value)
        {
            Assert.Equal(5, trace.ProgramIds.Count); // with sys_enter
            var start = new ProcessStartInfo("perl");
            start.ArgumentList.Add("-e");
            start.ArgumentList.Add($"open(F, '>', '/proc/self/loginuid') or die $!; print F '{loginuid}'; close F or die $!; exec '/bin/true' or die $!;");
            using (var workload = Process.Start(start)!) Assert.True(workload.WaitForExit(20_000));
            for (int i = 0; i < 10 && records.Count < 1; i++) trace.Read((in KernelEvent e) => records.Add(e.Bytes.ToArray()), 100);
        }
        var r = new Record(Assert.Single(records));
        Assert.Equal(59u, r.Syscall);
        Assert.Equal(0, r.Exit);
        Assert.NotEqual(0ul, r.U64(RecordLayout.A0));
        Assert.NotEqual(0ul, r.U64(RecordLayout.A1));
        Assert.Equal("true", Encoding.UTF8.GetString(r.Comm));
        Assert.Equal(new FileInfo("/bin/true").ResolveLinkTarget(true)?.FullName ?? Path.GetFullPath("/usr/bin/true"), Encoding.UTF8.GetString(r.Exe));
    }

    /// <summary>
    /// With <see cref="KernelTraceOptions.Signals"/>, a process killed by SIGSEGV (its default action, a core
    /// dump) yields one signal record as audit's ANOM_ABEND: type signal, sig, pid, auid, comm; syscall 0.
    /// </summary>
    [SkippableFact]
    public void ACoreDumpingSignalIsASignalRecord()
    {
        KernelRequirements.RequireBpfTracing();
        uint loginuid = UniqueLoginUid();
        var started = KernelTrace.Start(TestPrograms.CompileAndVerify($"type == signal && auid == {loginuid}"), new KernelTraceOptions { Signals = true });
        Assert.True(started.Ok, started.Error?.Message);
        var records = new List<byte[]>();
        int pid;
        using (var trace = started.Value)
        {
            var start = new ProcessStartInfo("sh");
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add($"echo {loginuid} > /proc/self/loginuid && ulimit -c 0 && kill -SEGV $$");
            using (var workload = Process.Start(start)!)
            {
                pid = workload.Id;
                Assert.True(workload.WaitForExit(20_000));
                Assert.Equal(128 + 11, workload.ExitCode);
            }
            for (int i = 0; i < 10 && records.Count < 1; i++) trace.Read((in KernelEvent e) => records.Add(e.Bytes.ToArray()), 100);
        }
        var r = new Record(Assert.Single(records));
        Assert.Equal(RecordLayout.EventTypeSignal, r.Bytes[RecordLayout.Type]);
        Assert.Equal(11u, r.U32(RecordLayout.Sig));
        Assert.Equal((uint)pid, r.U32(RecordLayout.Pid));
        Assert.Equal(loginuid, r.U32(RecordLayout.Auid));
        Assert.Equal(0u, r.Syscall);
        Assert.Equal("sh", Encoding.UTF8.GetString(r.Comm));
    }

    /// <summary>The same workload through the pipeline: a subscriber gets the 50 records, with the verdict and key.</summary>
    [SkippableFact]
    public void TheKernelSourceFeedsThePipeline()
    {
        KernelRequirements.RequireBpfTracing();
        uint loginuid = UniqueLoginUid();
        var pipeline = new AuditPipeline();
        var program = Filter(loginuid);
        var subscription = pipeline.Subscribe("test", RecordFilters.Create(program, EngineKind.Interpreter), 1024);
        var started = KernelAuditSource.Start(pipeline, program);
        Assert.True(started.Ok, started.Error?.Message);
        using var source = started.Value;
        using var cts = new CancellationTokenSource();
        var run = source.RunAsync(cts.Token);
        using (var workload = StartWorkload(loginuid)) Assert.True(workload.WaitForExit(20_000));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (source.Committed < Calls && DateTime.UtcNow < deadline) Thread.Sleep(20);
        cts.Cancel();
        run.Wait();
        int got = 0;
        while (subscription.TryRead(out var e))
        {
            Assert.Equal(AuditEventKind.Record, e.Kind);
            Assert.Equal(loginuid, e.Record.U32(RecordLayout.Auid));
            got++;
        }
        Assert.Equal(Calls, got);
        Assert.Equal((ulong)Calls, source.KernelStats.Matched);
    }

    /// <summary>Disposing detaches and unloads every program it loaded (listed by id through bpf(2) before and after).</summary>
    [SkippableFact]
    public void DisposingLeavesNothingLoaded()
    {
        KernelRequirements.RequireBpfTracing();
        var started = KernelTrace.Start(Filter(UniqueLoginUid()));
        Assert.True(started.Ok, started.Error?.Message);
        var ours = started.Value.ProgramIds;
        Assert.Equal(4, ours.Count); // getpriority's arguments are read at exit: no sys_enter program
        Assert.Subset(Bpf.ProgramIds().ToHashSet(), ours.ToHashSet());
        started.Value.Dispose();
        Assert.True(GoneWithin(ours, TimeSpan.FromSeconds(10)), $"still loaded: {string.Join(", ", ours.Intersect(Bpf.ProgramIds()))}");
    }

    /// <summary>Programs are freed after an RCU grace period, not at close: wait for it.</summary>
    private static bool GoneWithin(IEnumerable<uint> ids, TimeSpan time)
    {
        var deadline = DateTime.UtcNow + time;
        while (ids.Intersect(Bpf.ProgramIds()).Any())
        {
            if (DateTime.UtcNow > deadline) return false;
            Thread.Sleep(50);
        }
        return true;
    }

    /// <summary>
    /// <c>filterc trace</c> as a child process: prints the workload's calls as JSON lines that <c>run</c> reads
    /// back, and on SIGTERM detaches, prints its summary and exits 0, leaving none of its programs loaded.
    /// </summary>
    [SkippableFact]
    public void TraceCommandPrintsTheCallsAndDetachesOnSigterm()
    {
        KernelRequirements.RequireBpfTracing();
        uint loginuid = UniqueLoginUid();
        var before = Bpf.ProgramIds().ToHashSet();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "filterc.dll"), "trace", "--filter", $"syscall == getpriority && auid == {loginuid}" })
            start.ArgumentList.Add(a);
        using var trace = Process.Start(start)!;
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        trace.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.AppendLine(e.Data); };
        trace.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        trace.BeginOutputReadLine();
        trace.BeginErrorReadLine();
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!Text(stderr).Contains("attached") && !trace.HasExited && DateTime.UtcNow < deadline) Thread.Sleep(50);
            Assert.True(Text(stderr).Contains("attached"), $"filterc trace did not attach: {Text(stderr)}");
            var ours = Bpf.ProgramIds().Where(id => !before.Contains(id) && Bpf.ProgramName(id) is { } n && n.StartsWith("filter_", StringComparison.Ordinal) && n != "filter_test").ToList();
            Assert.Equal(4, ours.Count);
            using (var workload = StartWorkload(loginuid)) Assert.True(workload.WaitForExit(20_000));
            deadline = DateTime.UtcNow.AddSeconds(10);
            while (Text(stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length < Calls && DateTime.UtcNow < deadline) Thread.Sleep(50);
            Process.Start("kill", $"-TERM {trace.Id}")!.WaitForExit();
            Assert.True(trace.WaitForExit(10_000), "filterc trace did not end after SIGTERM");
            trace.WaitForExit();
            output.WriteLine(Text(stderr));
            Assert.Equal(0, trace.ExitCode);
            Assert.Matches(@"the filter ran on \d+ system calls \(\d+ gathered\), 50 matched; lost: 0", Text(stderr));
            var lines = Text(stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(Calls, lines.Length);
            var path = Path.GetTempFileName();
            try
            {
                File.WriteAllText(path, Text(stdout));
                var records = TestData.ReadRecords(path);
                Assert.Equal(Calls, records.Count);
                Assert.All(records, r => Assert.Equal(Who, new Record(r).U64(RecordLayout.A1)));
            }
            finally { File.Delete(path); }
            Assert.True(GoneWithin(ours, TimeSpan.FromSeconds(10)), "a program of filterc trace is still loaded after it ended");
        }
        finally
        {
            if (!trace.HasExited) trace.Kill();
        }
    }

    private static string Text(StringBuilder sb)
    {
        lock (sb) return sb.ToString();
    }
}

/// <summary>
/// Tests that load BPF programs or add kernel audit rules run one class at a time: the live ones count programs
/// and system calls, and the kernel logs an event under the first rule that matches it, so one test's rule
/// confined to the test process's children (ppid) would take the events of another's workload (seen in CI:
/// KernelAuditdTests' openat calls logged under IdsKernelTests' key).
/// </summary>
[CollectionDefinition(Name)]
public sealed class KernelCollection
{
    public const string Name = "kernel BPF";
}
