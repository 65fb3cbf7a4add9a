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
/// The live source against the real kernel. They run only as root with kernel audit enabled (as in CI on
/// this kind of machine); otherwise each test passes after writing why it did not run to its output.
/// Every rule they add has its own key (<c>filter-live-test-PID-RANDOM</c>) and is deleted in a finally;
/// they never flush rules or change audit settings.
/// </summary>
public class KernelLiveTests(ITestOutputHelper output)
{
    private static string? WhyUnavailable()
    {
        if (!OperatingSystem.IsLinux()) return "not Linux";
        if (!Environment.IsPrivilegedProcess) return "not root (reading the audit stream needs CAP_AUDIT_READ, adding rules CAP_AUDIT_CONTROL)";
        try
        {
            using var control = AuditControl.Open();
            if (control.GetStatus().Enabled == 0) return "kernel audit is disabled (auditctl -s: enabled 0)";
        }
        catch (AuditUnavailableException e)
        {
            return e.Message;
        }
        return null;
    }

    private bool Skip()
    {
        if (WhyUnavailable() is not { } reason) return false;
        output.WriteLine($"skipped: {reason}");
        return true;
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
    [Fact]
    public async Task TheLiveStreamSelectsWhatTheLogAndTheCaptureSelect()
    {
        if (Skip()) return;
        int pid = Environment.ProcessId;
        string filter = $"ppid == {pid} && (syscall == execve && success || syscall == openat && exit == -ENOENT)";
        var program = TestPrograms.CompileAndVerify(filter);
        var pipeline = new AuditPipeline();
        var sub = pipeline.Subscribe("test", RecordFilters.Create(program, EngineKind.Jit), 4096);
        var captured = new List<LiveEvent>();
        string key = UniqueKey();
        using (var source = new NetlinkAuditSource(pipeline, new NetlinkAuditSourceOptions { KeepEvents = 1 << 16 }))
        {
            source.EventAssembled += captured.Add;
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
            Thread.Sleep(600); // more than the event timeout: the last events are complete
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
            using var control2 = AuditControl.Open();
            uint auditd = control2.GetStatus().Pid;
            if (auditd == 0 || !Directory.Exists($"/proc/{auditd}") || !File.Exists("/var/log/audit/audit.log"))
            {
                output.WriteLine("auditd is not running: compared with the capture only");
                return;
            }
            HashSet<AuditdEventId> fromLog = [];
            for (int attempt = 0; attempt < 20 && !live.IsSubsetOf(fromLog); attempt++)
            {
                Thread.Sleep(100); // auditd writes asynchronously
                fromLog = FromLog(program, live);
            }
            Assert.Equal(fromLog.Order(), live.Order());
        }
    }

    /// <summary>
    /// An overrun, made sure of: a small receive buffer, and the reader held on the first event while 200
    /// children exec. The source used to announce each overrun as one lost record whatever the kernel
    /// dropped; now the kernel's count of what it dropped for the socket (SO_MEMINFO's sk_drops) is what
    /// the subscribers are told, exactly.
    /// </summary>
    [Fact]
    public async Task AnOverrunIsAnnouncedAsTheRecordsTheSocketDropped()
    {
        if (Skip()) return;
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
    [Fact]
    public void TailInstallDoesNotRecordItsOwnReads()
    {
        if (Skip()) return;
        int pid = Environment.ProcessId;
        var (tail, stdout, stderr) = StartTail("--format", "jsonl", "--install", "--filter", $"syscall in (read, recvfrom) && ppid == {pid}");
        try
        {
            string key = AwaitKey(tail, stderr);
            string rules = ListRules();
            var line = rules.Split('\n').First(l => l.Contains(key) && l.Contains("arch=b64"));
            output.WriteLine(line);
            Assert.Contains($"-F pid!={tail.Id}", line);
            RunToEnd("/bin/cat", "/etc/hostname");
            Thread.Sleep(1500); // tail keeps reading meanwhile: without the exclusion, each of its reads is a record to read
            Assert.False(tail.HasExited, $"filterc tail ended: {stderr}");
            RunToEnd("kill", $"-TERM {tail.Id}");
            Assert.True(tail.WaitForExit(10_000), "filterc tail did not end after SIGTERM");
            tail.WaitForExit();
            output.WriteLine(stderr.ToString());
            Assert.Equal(0, tail.ExitCode);
            var pids = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("pid").GetUInt32()).ToList();
            output.WriteLine($"{pids.Count} matching records, from pids {string.Join(", ", pids.Distinct())}");
            Assert.NotEmpty(pids);                       // the child's reads of /etc/hostname
            Assert.DoesNotContain((uint)tail.Id, pids);  // never tail's own
            Assert.Contains("removed 2 of 2 audit rules", stderr.ToString());
            Assert.DoesNotContain(key, ListRules());
        }
        finally
        {
            Stop(tail);
        }
    }

    /// <summary>After a failure: SIGTERM first, so that tail removes its rules; SIGKILL only if it does not end.</summary>
    private static void Stop(Process tail)
    {
        if (tail.HasExited) return;
        RunToEnd("kill", $"-TERM {tail.Id}");
        if (!tail.WaitForExit(10_000)) tail.Kill();
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
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline && !tail.HasExited)
        {
            Thread.Sleep(50);
            lock (stderr)
            {
                var m = System.Text.RegularExpressions.Regex.Match(stderr.ToString(), $@"with key (filterc-{command}-\d+-[0-9a-f]+)");
                if (m.Success && stderr.ToString().Contains("listening")) return m.Groups[1].Value;
            }
        }
        throw new Xunit.Sdk.XunitException($"filterc {command} did not start: {stderr}");
    }

    /// <summary>
    /// <c>filterc ids --install</c>: the IDS's exit rules (one per host arch, its own key) are in the kernel while
    /// it listens, and SIGTERM removes exactly them.
    /// </summary>
    [Fact]
    public void IdsInstallRemovesItsRulesOnSigterm()
    {
        if (Skip()) return;
        var (ids, _, stderr) = StartFilterc("ids", "--install");
        using (ids)
        {
            try
            {
                string key = AwaitKey(ids, stderr, "ids");
                string rules = ListRules();
                Assert.Contains(key, rules);
                Assert.Contains("-S read,", rules); // the receive calls, among the IDS's syscalls
                RunToEnd("kill", $"-TERM {ids.Id}");
                Assert.True(ids.WaitForExit(10_000), "filterc ids did not end after SIGTERM");
                ids.WaitForExit();
                output.WriteLine(stderr.ToString());
                Assert.Equal(0, ids.ExitCode);
                Assert.Contains("removed 2 of 2 audit rules", stderr.ToString());
                Assert.DoesNotContain(key, ListRules());
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
    [Fact]
    public void TailInstallRemovesItsRuleOnSigterm()
    {
        if (Skip()) return;
        string filterc = Path.Combine(AppContext.BaseDirectory, "filterc.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[] { filterc, "tail", "--install", "--filter", $"syscall == execve && ppid == {Environment.ProcessId}" })
            start.ArgumentList.Add(a);
        using var tail = Process.Start(start)!;
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        tail.OutputDataReceived += (_, e) => { lock (stdout) stdout.AppendLine(e.Data); };
        tail.ErrorDataReceived += (_, e) => { lock (stderr) stderr.AppendLine(e.Data); };
        tail.BeginOutputReadLine();
        tail.BeginErrorReadLine();
        string? key = null;
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (key is null && DateTime.UtcNow < deadline && !tail.HasExited)
            {
                Thread.Sleep(50);
                lock (stderr)
                {
                    var m = System.Text.RegularExpressions.Regex.Match(stderr.ToString(), @"with key (filterc-tail-\d+-[0-9a-f]+)");
                    if (m.Success && stderr.ToString().Contains("listening")) key = m.Groups[1].Value;
                }
            }
            Assert.True(key is not null, $"filterc tail did not start: {stderr}");
            Assert.Contains(key, ListRules());
            RunToEnd("/bin/true");
            deadline = DateTime.UtcNow.AddSeconds(5);
            while (DateTime.UtcNow < deadline && !stdout.ToString().Contains("exe=\"/usr/bin/true\"")) Thread.Sleep(50);
            RunToEnd("kill", $"-TERM {tail.Id}");
            Assert.True(tail.WaitForExit(10_000), "filterc tail did not end after SIGTERM");
            tail.WaitForExit();
            output.WriteLine(stderr.ToString());
            Assert.Equal(0, tail.ExitCode);
            Assert.Contains("type=SYSCALL msg=audit(", stdout.ToString());
            Assert.Contains("exe=\"/usr/bin/true\"", stdout.ToString());
            Assert.Contains("removed 2 of 2 audit rules", stderr.ToString());
            Assert.Contains("events seen", stderr.ToString());
            Assert.DoesNotContain("no longer held", stderr.ToString()); // every matched event was printed
            Assert.DoesNotContain(key, ListRules());
        }
        finally
        {
            Stop(tail);
        }
    }
}
