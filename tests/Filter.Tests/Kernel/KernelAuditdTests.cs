using System.Diagnostics;
using System.Text;
using Filter.Audit.Formats;
using Filter.Audit.Live;
using Filter.Compiler.Analysis;
using Filter.Kernel.Live;
using Filter.Tests.Engines;
using Filter.Tests.Live;
using Filter.VM;
using Xunit;
using Xunit.Abstractions;

namespace Filter.Tests.Kernel;

/// <summary>
/// The kernel engine against the kernel's audit: one filter both run in the eBPF programs and installed as
/// kernel audit rules (the rules <c>filterc tail --install</c> would add for it, narrowed to the workload's own
/// loginuid, with a key of their own, removed in a finally), one workload, and the calls each reports —
/// the trace's records and the events auditd wrote to /var/log/audit/audit.log under that key — compared as
/// multisets of (syscall, exit, pid). Needs root, BPF, BTF and a running auditd (.ci/run starts it); skipped
/// with the reason elsewhere. Never flushes rules or changes audit's settings.
/// </summary>
[Collection(KernelCollection.Name), Trait(KernelRequirements.Category, KernelRequirements.Kernel), Trait(KernelRequirements.Category, KernelRequirements.Audit)]
public class KernelAuditdTests(ITestOutputHelper output)
{
    private const string AuditLog = "/var/log/audit/audit.log";

    [SkippableFact]
    public void TheTraceYieldsTheCallsAuditdLogsForTheSameFilter()
    {
        KernelRequirements.RequireBpfTracing();
        KernelRequirements.RequireAuditd();
        uint loginuid = 3_000_000_000u + (uint)Random.Shared.Next(1_000_000);
        string filter = $"syscall in (getpriority, openat) && auid == {loginuid}";
        var compilation = TestPrograms.Compile(filter);
        var program = TestPrograms.Verify(compilation.Image!);
        string key = ExitRules.UniqueKey("kernel-auditd-test");
        var rules = ExitRules.For(SyscallAnalysis.For(compilation.Bound!), key, ExitRules.ReaderPids(), [AuditRuleField.Equal(AuditRule.ProcessFields["auid"], loginuid)], out string? why);
        Assert.True(rules is not null, why);

        uint lostBefore = KernelLost();
        var started = KernelTrace.Start(program);
        Assert.True(started.Ok, started.Error?.Message);
        var traced = new List<(uint Syscall, long Exit, uint Pid)>();
        using (var trace = started.Value)
        {
            var installed = new List<AuditRule>();
            using (var control = AuditControl.Open())
            {
                try
                {
                    ExitRules.Install(control, rules, installed);
                    // 50 getpriority failing with ESRCH, 20 openat failing with ENOENT, 5 succeeding; 2 ms apart, so
                    // that a freshly started auditd keeps the kernel's backlog (64 records by default) from filling:
                    // in one burst CI once saw 41 of the 50 never reach the log.
                    var start = new ProcessStartInfo("perl") { RedirectStandardError = true };
                    start.ArgumentList.Add("-e");
                    start.ArgumentList.Add($"open(F, '>', '/proc/self/loginuid') or die $!; print F '{loginuid}'; close F or die $!; " +
                        "for (1..50) { getpriority(0, 99999999); select(undef, undef, undef, 0.002) } " +
                        "for (1..20) { open(my $f, '<', \"/nonexistent-filter-test-$_\"); select(undef, undef, undef, 0.002) } " +
                        "for (1..5) { open(my $g, '<', '/etc/passwd') or die $!; close $g; }");
                    using var workload = Process.Start(start)!;
                    Assert.True(workload.WaitForExit(20_000));
                    Assert.True(workload.ExitCode == 0, workload.StandardError.ReadToEnd());
                }
                finally
                {
                    ExitRules.Remove(control, installed, message => output.WriteLine(message));
                }
            }
            KernelEventHandler keep = (in KernelEvent e) =>
            {
                var r = new Record(e.Bytes);
                traced.Add((r.Syscall, r.Exit, r.U32(RecordLayout.Pid)));
            };
            for (int i = 0; i < 20 && traced.Count < 75; i++) trace.Read(keep, 100);
            trace.Read(keep, 200);
            Assert.Equal(0ul, trace.Stats.Lost);
        }
        Assert.True(traced.Count >= 75, $"the trace has {traced.Count} calls, the workload made at least 75");

        // auditd writes asynchronously: read its log until it has as many of our key's events (or 15 s passed).
        var logged = new List<(uint Syscall, long Exit, uint Pid)>();
        var deadline = DateTime.UtcNow.AddSeconds(15);
        do
        {
            logged = Logged(key);
            if (logged.Count >= traced.Count) break;
            Thread.Sleep(200);
        }
        while (DateTime.UtcNow < deadline);
        output.WriteLine($"traced {traced.Count} calls, auditd logged {logged.Count} under {key}; the kernel's lost count {lostBefore} -> {KernelLost()}");
        Assert.Equal(Counted(logged), Counted(traced));
    }

    /// <summary>How many records the kernel's audit has dropped since boot (`auditctl -s`'s lost).</summary>
    private static uint KernelLost()
    {
        using var control = AuditControl.Open();
        return control.GetStatus().Lost;
    }

    /// <summary>The multiset as sorted (call, count) pairs, which Assert.Equal compares and prints.</summary>
    private static List<string> Counted(List<(uint Syscall, long Exit, uint Pid)> calls) =>
        [.. calls.GroupBy(c => c).OrderBy(g => g.Key).Select(g => $"syscall {g.Key.Syscall} exit {g.Key.Exit} pid {g.Key.Pid}: {g.Count()}")];

    /// <summary>The events of auditd's log whose SYSCALL record carries <paramref name="key"/>.</summary>
    private static List<(uint Syscall, long Exit, uint Pid)> Logged(string key)
    {
        byte[] keyed = Encoding.ASCII.GetBytes($" key=\"{key}\"");
        var calls = new List<(uint, long, uint)>();
        var builder = new RecordBuilder();
        using var reader = AuditdReader.OpenFiles([AuditLog]);
        while (reader.Read(builder) == ReadResult.Record)
        {
            bool ours = false;
            for (int i = 0; i < reader.LineCount && !ours; i++)
                ours = reader.GetLine(i).StartsWith("type=SYSCALL "u8) && reader.GetLine(i).IndexOf(keyed) >= 0;
            if (!ours) continue;
            var r = new Record(builder.Build());
            calls.Add((r.Syscall, r.Exit, r.U32(RecordLayout.Pid)));
        }
        return calls;
    }
}
