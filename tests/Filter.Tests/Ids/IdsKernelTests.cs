using System.Diagnostics;
using Filter.Audit.Ids;
using Filter.Audit.Live;
using Filter.Audit.Pipeline;
using Filter.Tests.Engines;
using Filter.Tests.Live;
using Xunit;
using Xunit.Abstractions;

namespace Filter.Tests.Ids;

/// <summary>
/// The IDS against the kernel: tools/ids/run-workload.sh runs the three scenarios under a temporary audit
/// rule set; the IDS must raise exactly one alert, for the service that read then crashed — from the log
/// auditd wrote, and from the live netlink stream read at the same time. The script's rules record only the
/// processes of its own login uid (<c>-F auid=</c>). Needs root, audit, a running auditd, auditctl, ausearch
/// and gcc; otherwise it is reported skipped with the reason.
/// </summary>
[Collection(global::Filter.Tests.Kernel.KernelCollection.Name), Trait(KernelRequirements.Category, KernelRequirements.Kernel), Trait(KernelRequirements.Category, KernelRequirements.Audit)]
public class IdsKernelTests(ITestOutputHelper output)
{
    internal static string? Script()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "tools", "ids", "run-workload.sh");
            if (File.Exists(path)) return path;
        }
        return null;
    }

    [SkippableFact]
    public async Task TheWorkloadRaisesExactlyOneAlert()
    {
        KernelRequirements.RequireAuditd();
        KernelRequirements.RequireCommands("auditctl", "ausearch", "gcc");
        var script = Script();
        Skip.If(script is null, "tools/ids/run-workload.sh not found above the test directory");

        // Live: listen before the workload starts.
        var pipeline = new AuditPipeline();
        var liveAlerts = new List<IdsAlert>();
        var ids = IdsSubscriber.Subscribe(pipeline, new IdsOptions(), a => { lock (liveAlerts) liveAlerts.Add(a); });
        var source = new NetlinkAuditSource(pipeline, new NetlinkAuditSourceOptions { KeepEvents = 1 << 16 });
        ids.EventOf = serial => source.TryGetEvent(serial, out var ev) ? ev.Id : null;
        using var cts = new CancellationTokenSource();
        var reader = source.RunAsync(cts.Token);
        var consumer = ids.RunAsync();

        string log = Path.Combine(Path.GetTempPath(), $"ids-kernel-{Environment.ProcessId}.log");
        try
        {
            var psi = new ProcessStartInfo("/bin/bash", [script!, log]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            var stdoutTask = p.StandardOutput.ReadToEndAsync();
            var stderrTask = p.StandardError.ReadToEndAsync();
            using (var timeout = new CancellationTokenSource(HangGuard.Bound))
                await p.WaitForExitAsync(timeout.Token);
            string stdout = await stdoutTask, stderr = await stderrTask;
            output.WriteLine(stdout + stderr);
            Skip.If(p.ExitCode == 77, stderr.Trim());   // a precondition the checks above do not cover
            Assert.True(p.ExitCode == 0, $"run-workload.sh failed ({p.ExitCode}): {stderr}");
            var services = IdsRecordedLogTests.Services(stdout);
            Assert.Equal(3, services.Count);

            var alerts = new List<IdsAlert>();
            IdsReplay.RunFiles([log], new IdsOptions(), alerts.Add, e => Assert.Fail(e.ToString()));
            var alert = Assert.Single(alerts);
            Assert.Equal(services["crash"], alert.Pid);
            Assert.Equal(("read", 0L), (alert.ReceiveCall, alert.ReceiveFd));

            // The live alert comes once the crash's ANOM_ABEND has ended (the source's event timeout) and been consumed.
            KernelLiveTests.AwaitCondition(() => { lock (liveAlerts) return liveAlerts.Any(a => a.Pid == services["crash"]); }, "live alert for the crashing service");
            cts.Cancel();
            await reader;
            pipeline.Complete();
            await consumer;
            List<IdsAlert> ours;
            lock (liveAlerts) ours = liveAlerts.Where(a => services.ContainsValue(a.Pid)).ToList();
            output.WriteLine($"live: {source.Stats}; alerts: {string.Join("; ", ours)}");
            var live = Assert.Single(ours);
            Assert.Equal((services["crash"], alert.Distance, alert.Receive.Event), (live.Pid, live.Distance, live.Receive.Event));
        }
        finally
        {
            cts.Cancel();
            try { await reader; } catch (OperationCanceledException) { }
            pipeline.Complete();
            source.Dispose();
            File.Delete(log);
        }
    }
}
