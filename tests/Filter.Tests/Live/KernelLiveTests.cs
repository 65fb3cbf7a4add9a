using System.Diagnostics;
using System.Text;
using Filter.Audit.Formats;
using Filter.Audit.Live;
using Filter.Audit.Pipeline;
using Filter.Tests.Engines;
using Filter.VM;
using Xunit;
using Xunit.Abstractions;

namespace Filter.Tests.Live;

/// <summary>
/// The live source against the real kernel. They need root, the kernel's audit enabled and auditctl (as in CI
/// on this kind of machine: .ci/run starts auditd); otherwise each is reported skipped with the reason
/// (<see cref="KernelRequirements"/>). Every rule they add has its own key and is deleted in a finally, and
/// each records only processes of this test (<c>-F ppid=</c> this process); they never flush rules or change
/// audit settings.
/// </summary>
[Collection(global::Filter.Tests.Kernel.KernelCollection.Name), Trait(KernelRequirements.Category, KernelRequirements.Kernel), Trait(KernelRequirements.Category, KernelRequirements.Audit)]
public class KernelLiveTests(ITestOutputHelper output)
{
    private static void Require()
    {
        KernelRequirements.RequireAudit();
        KernelRequirements.RequireCommands("auditctl");
    }

    private static string UniqueKey() => $"filter-live-test-{Environment.ProcessId}-{Random.Shared.Next():x8}";

    private static string ListRules()
    {
        using var p = Process.Start(new ProcessStartInfo("auditctl", "-l") { RedirectStandardOutput = true })!;
        string text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return text;
    }

    private static void RunToEnd(string file, string args = "")
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true })!;
        p.StandardError.ReadToEnd();
        p.WaitForExit();
    }

    /// <summary>
    /// A rule of our own (execve and openat of this test's children), a small workload, and the live stream
    /// through the pipeline: the events the filter passes must be exactly those the same filter selects from
    /// auditd's log (when auditd runs) and from a capture of every event the source assembled.
    /// </summary>
    [SkippableFact]
    public async Task TheLiveStreamSelectsWhatTheLogAndTheCaptureSelect()
    {
        Require();
        int pid = Environment.ProcessId;
        string filter = $"ppid == {pid} && (syscall == execve && success || syscall == openat && exit == -ENOENT)";
        var program = TestPrograms.CompileAndVerify(filter);
        var pipeline = new AuditPipeline();
        var sub = pipeline.Subscribe("test", RecordFilters.Create(program, EngineKind.Jit), 4096);
        var captured = new List<LiveEvent>();   // written on the source's thread: under its lock
        string key = UniqueKey();
        using (var source = new NetlinkAuditSource(pipeline, new NetlinkAuditSourceOptions { KeepEvents = 1 << 16 }))
        {
            source.EventAssembled += e => { lock (captured) captured.Add(e); };
            using var cts = new CancellationTokenSource();
            var run = source.RunAsync(cts.Token);
            var rule = new AuditRule(AuditArch.X86_64, [59, 257], key, [(AuditRule.FieldPpid, (uint)pid)]);
            using (var control = AuditControl.Open())
            {
                control.AddRule(rule);
                try
                {
                    Assert.Contains(key, ListRules());
                    for (int i = 0; i < 3; i++) RunToEnd("/bin/true");
                    RunToEnd("/bin/cat", "/nonexistent-filter-live-test");
                }
                finally
                {
                    control.DeleteRule(rule);
                }
            }
            Assert.DoesNotContain(key, ListRules());
            // Our rule's events are in (3 execve of true, cat's execve and its openat calls, one of them failing): the
            // source commits each assembled event at once, so it may stop (its last ones are committed as it does).
            AwaitCondition(() => { lock (captured) return captured.Count(e => e.ToAuditdText().Contains($"key=\"{key}\"")) >= 5; }, "our rule's 5 events");
            cts.Cancel();
            await run;
            pipeline.Complete();

            var live = new HashSet<AuditdEventId>();
            while (sub.TryRead(out var item))
            {
                Assert.Equal(AuditEventKind.Record, item.Kind);
                Assert.True(source.TryGetEvent(item.Serial, out var ev));
                live.Add(ev.Id);
            }
            output.WriteLine($"live: {live.Count} matching events of {source.Stats.Events} seen; kernel lost {source.Stats.KernelLost}, overruns {source.Stats.Overruns}");
            Assert.Equal(0, source.Stats.Overruns);

            // The capture: every event the source assembled, as auditd text, through the file reader.
            var fromCapture = Select(program, captured.Select(e => e.ToAuditdText()));
            Assert.Equal(fromCapture.Order(), live.Order());
            Assert.True(live.Count >= 4, $"expected 3 execve and at least one failed openat, got {live.Count}");
            var keyed = captured.Where(e => e.ToAuditdText().Contains($"key=\"{key}\"")).Select(e => e.Id).ToHashSet();
            Assert.Subset(keyed, live);

            // auditd's log, when auditd runs: it got the same events from the kernel.
            if (KernelRequirements.WhyNoAuditd() is { } noAuditd)
                throw new SkipException($"compared with the capture only; not with auditd's log: {noAuditd}");
            // auditd writes asynchronously: wait until it has written our events (or a hang), then compare.
            var fromLog = FromLog(program, live);
            AwaitCondition(() => live.IsSubsetOf(fromLog = FromLog(program, live)), "complete log of our events by auditd");
            Assert.Equal(fromLog.Order(), live.Order());
        }
    }

    /// <summary>
    /// An overrun, made sure of: a small receive buffer, and the reader held on the first event while 200
    /// children exec. The source used to announce each overrun as one lost record whatever the kernel
    /// dropped; now the kernel's count of what it dropped for the socket (SO_MEMINFO's sk_drops) is what
    /// the subscribers are told, exactly.
    /// </summary>
    [SkippableFact]
    public async Task AnOverrunIsAnnouncedAsTheRecordsTheSocketDropped()
    {
        Require();
        int pid = Environment.ProcessId;
        var pipeline = new AuditPipeline();
        var sub = pipeline.Subscribe("test", RecordFilters.Create(TestPrograms.CompileAndVerify($"ppid == {pid}"), EngineKind.Interpreter), 1 << 16);
        string key = UniqueKey();
        using var release = new ManualResetEventSlim();
        using (var source = new NetlinkAuditSource(pipeline, new NetlinkAuditSourceOptions { ReceiveBufferBytes = 4096 }))
        {
            source.EventAssembled += _ => release.Wait();
            using var cts = new CancellationTokenSource();
            var run = source.RunAsync(cts.Token);
            var rule = new AuditRule(AuditArch.X86_64, [59], key, [(AuditRule.FieldPpid, (uint)pid)]);
            using (var control = AuditControl.Open())
            {
                control.AddRule(rule);
                try
                {
                    for (int i = 0; i < 200; i++) RunToEnd("/bin/true");
                }
                finally
                {
                    control.DeleteRule(rule);
                    release.Set();
                }
            }
            Thread.Sleep(600);
            cts.Cancel();
            await run;
            pipeline.Complete();
            var stats = source.Stats;
            output.WriteLine($"{stats.Events} events; {stats.Overruns} overruns, {stats.SocketDropped} records dropped by the socket, kernel lost {stats.KernelLost}; subscriber told of {sub.Stats.UpstreamLost}");
            Assert.True(stats.Overruns >= 1, "no overrun: the test did not test anything");
            Assert.True(stats.SocketDropped > stats.Overruns, "each overrun counted as one record");
            Assert.Equal(stats.SocketDropped + stats.KernelLost + stats.AssemblyLost, sub.Stats.UpstreamLost);
        }
    }

    /// <summary>The filter over auditd text (one string per event), by event id.</summary>
    private static HashSet<AuditdEventId> Select(VerifiedProgram program, IEnumerable<string> events)
    {
        using var log = new MemoryStream(Encoding.UTF8.GetBytes(string.Concat(events)));
        using var reader = new AuditdReader(log, "capture");
        var builder = new RecordBuilder();
        var selected = new HashSet<AuditdEventId>();
        while (reader.Read(builder) == ReadResult.Record)
            if (reader.HasSyscall && Interpreter.Run(program, new Record(builder.Build())) != 0) selected.Add(reader.EventId);
        return selected;
    }

    /// <summary>The filter over the events of auditd's log whose serials are at least the smallest live one.</summary>
    private static HashSet<AuditdEventId> FromLog(VerifiedProgram program, HashSet<AuditdEventId> live)
    {
        ulong first = live.Min(id => id.Serial);
        var lines = new List<string>();
        using (var stream = new FileStream("/var/log/audit/audit.log", FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        using (var text = new StreamReader(stream))
            for (string? line; (line = text.ReadLine()) is not null;)
            {
                int at = line.IndexOf("msg=audit(", StringComparison.Ordinal);
                if (at < 0) continue;
                int colon = line.IndexOf(':', at), close = line.IndexOf(')', at);
                if (colon > 0 && close > colon && ulong.TryParse(line.AsSpan(colon + 1, close - colon - 1), out ulong serial) && serial >= first)
                    lines.Add(line + "\n");
            }
        return Select(program, lines);
    }

    /// <summary>
    /// <c>filterc tail --install</c> for <c>read</c> and <c>recvfrom</c> — the calls it makes itself to read the
    /// audit socket: its rule excludes its own pid (and auditd's), so none of its own calls is recorded and it
    /// does not feed itself; the same rule does record this test's child reading a file.
    /// </summary>
    [SkippableFact]
    public void TailInstallDoesNotRecordItsOwnReads()
    {
        Require();
        int pid = Environment.ProcessId;
        var (tail, stdout, stderr) = StartTail("--format", "jsonl", "--install", "--install-field", $"ppid={pid}", "--filter", $"syscall in (read, recvfrom) && ppid == {pid}");
        try
        {
            string key = AwaitKey(tail, stderr);
            string rules = ListRules();
            var line = rules.Split('\n').First(l => l.Contains(key) && l.Contains("arch=b64"));
            output.WriteLine(line);
            Assert.Contains($"-F pid!={tail.Id}", line);
            Assert.Contains($"-F ppid={pid}", line);    // only this test's children: tail itself among them
            RunToEnd("/bin/cat", "/etc/hostname");
            // Until the child's reads are printed; then a little longer, while tail keeps reading: without the
            // exclusion, each of its own reads would be a record to read, printed at once.
            AwaitOutput(tail, stdout, s => Pids(s).Any(p => p != tail.Id), "the child's reads");
            Thread.Sleep(500);
            Assert.False(tail.HasExited, $"filterc tail ended: {stderr}");
            TerminateAndCheckRemoved(tail, stderr, key);
            var pids = Pids(stdout.ToString());
            output.WriteLine($"{pids.Count} matching records, from pids {string.Join(", ", pids.Distinct())}");
            Assert.NotEmpty(pids);                       // the child's reads of /etc/hostname
            Assert.DoesNotContain((uint)tail.Id, pids);  // never tail's own
        }
        finally
        {
            Stop(tail);
        }
    }

    /// <summary>SIGTERM; then the tool must end with status 0 having removed exactly its rules (2: one per host arch).</summary>
    private void TerminateAndCheckRemoved(Process tool, StringBuilder stderr, string key)
    {
        RunToEnd("kill", $"-TERM {tool.Id}");
        Assert.True(tool.WaitForExit(HangGuard.Milliseconds), $"the process with rules {key} did not end after SIGTERM");
        tool.WaitForExit();   // and its output is read to the end
        output.WriteLine(stderr.ToString());
        Assert.Equal(0, tool.ExitCode);
        Assert.Contains("removed 2 of 2 audit rules", stderr.ToString());
        Assert.DoesNotContain(key, ListRules());
    }

    /// <summary>The pid of each complete JSON line.</summary>
    private static List<uint> Pids(string jsonLines) =>
        [.. jsonLines.Split('\n').SkipLast(1).Where(l => l.Length > 0)
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("pid").GetUInt32())];

    /// <summary>After a failure: SIGTERM first, so that tail removes its rules; SIGKILL only if it does not end.</summary>
    private static void Stop(Process tail)
    {
        if (tail.HasExited) return;
        RunToEnd("kill", $"-TERM {tail.Id}");
        if (!tail.WaitForExit(HangGuard.Milliseconds)) tail.Kill();
    }

    /// <summary>Waits until <paramref name="done"/>; fails only on a hang.</summary>
    internal static void AwaitCondition(Func<bool> done, string what)
    {
        var until = DateTime.UtcNow + HangGuard.Bound;
        while (!done())
        {
            Assert.True(DateTime.UtcNow < until, $"still no {what} after {HangGuard.Bound.TotalSeconds} s: a hang");
            Thread.Sleep(50);
        }
    }

    /// <summary>Waits until the output holds what <paramref name="done"/> looks for; fails only on a hang or an early exit.</summary>
    private static void AwaitOutput(Process process, StringBuilder output, Func<string, bool> done, string what)
    {
        var until = DateTime.UtcNow + HangGuard.Bound;
        while (DateTime.UtcNow < until && !process.HasExited)
        {
            lock (output)
                if (done(output.ToString())) return;
            Thread.Sleep(50);
        }
        lock (output)
            Assert.True(done(output.ToString()), $"no {what} in the output of {process.StartInfo.FileName} (exited: {process.HasExited}):\n{output}");
    }

    private static (Process Tail, StringBuilder Stdout, StringBuilder Stderr) StartTail(params string[] args) => StartFilterc("tail", args);

    private static (Process Process, StringBuilder Stdout, StringBuilder Stderr) StartFilterc(string command, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "filterc.dll"));
        start.ArgumentList.Add(command);
        foreach (var a in args) start.ArgumentList.Add(a);
        var tail = Process.Start(start)!;
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        tail.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.AppendLine(e.Data); };
        tail.ErrorDataReceived += (_, e) => { lock (stderr) stderr.AppendLine(e.Data); };
        tail.BeginOutputReadLine();
        tail.BeginErrorReadLine();
        return (tail, stdout, stderr);
    }

    /// <summary>The key of the rules a starting tail (or ids) installed, once it listens.</summary>
    private static string AwaitKey(Process tail, StringBuilder stderr, string command = "tail")
    {
        var pattern = new System.Text.RegularExpressions.Regex($@"with key (filterc-{command}-\d+-[0-9a-f]+)");
        AwaitOutput(tail, stderr, s => pattern.IsMatch(s) && s.Contains("listening"), $"'filterc {command}: listening'");
        lock (stderr) return pattern.Match(stderr.ToString()).Groups[1].Value;
    }

    /// <summary>
    /// <c>filterc ids --install</c>: the IDS's exit rules (one per host arch, its own key) are in the kernel while
    /// it listens, and SIGTERM removes exactly them.
    /// </summary>
    [SkippableFact]
    public void IdsInstallRemovesItsRulesOnSigterm()
    {
        Require();
        var (ids, _, stderr) = StartFilterc("ids", "--install", "--install-field", $"ppid={Environment.ProcessId}");
        using (ids)
        {
            try
            {
                string key = AwaitKey(ids, stderr, "ids");
                string rules = ListRules();
                Assert.Contains(key, rules);
                Assert.Contains("-S read,", rules); // the receive calls, among the IDS's syscalls
                Assert.Contains($"-F ppid={Environment.ProcessId} -F key={key}", rules);
                TerminateAndCheckRemoved(ids, stderr, key);
            }
            finally
            {
                Stop(ids);
            }
        }
    }

    /// <summary>
    /// <c>filterc tail --install</c> as a child process: it installs its rule (visible to auditctl), prints a
    /// matching event, and on SIGTERM removes exactly its rule and exits 0 with a summary.
    /// </summary>
    [SkippableFact]
    public void TailInstallRemovesItsRuleOnSigterm()
    {
        Require();
        int pid = Environment.ProcessId;
        var (tail, stdout, stderr) = StartTail("--install", "--install-field", $"ppid={pid}", "--filter", $"syscall == execve && ppid == {pid}");
        using (tail)
        {
            try
            {
                string key = AwaitKey(tail, stderr);
                Assert.Contains(key, ListRules());
                RunToEnd("/bin/true");
                AwaitOutput(tail, stdout, s => s.Contains("exe=\"/usr/bin/true\"", StringComparison.Ordinal), "execve of /bin/true");
                TerminateAndCheckRemoved(tail, stderr, key);
                Assert.Contains("type=SYSCALL msg=audit(", stdout.ToString());
                Assert.Contains("events seen", stderr.ToString());
                Assert.DoesNotContain("no longer held", stderr.ToString()); // every matched event was printed
            }
            finally
            {
                Stop(tail);
            }
        }
    }
}
