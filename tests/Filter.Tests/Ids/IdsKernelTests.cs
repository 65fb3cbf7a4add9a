using System.Diagnostics;
using Filter.Audit.Ids;
using Filter.Audit.Live;
using Filter.Audit.Pipeline;
using Xunit;
using Xunit.Abstractions;

namespace Filter.Tests.Ids;

/// <summary>
/// The IDS against the kernel: tools/ids/run-workload.sh runs the three scenarios under a temporary audit
/// rule set; the IDS must raise exactly one alert, for the service that read then crashed — from the log
/// auditd wrote, and from the live netlink stream read at the same time. Runs as root with audit, auditd
/// and gcc; otherwise it says why in the test output and checks nothing.
/// </summary>
public class IdsKernelTests(ITestOutputHelper output)
{
    private static string? Script()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "tools", "ids", "run-workload.sh");
            if (File.Exists(path)) return path;
        }
        return null;
    }

    [Fact]
    public async Task TheWorkloadRaisesExactlyOneAlert()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            output.WriteLine("skipped: needs root on Linux (kernel audit rules)");
            return;
        }
        var script = Script();
        if (script is null)
        {
            output.WriteLine("skipped: tools/ids/run-workload.sh not found above the test directory");
            return;
        }

        // Live: listen before the workload starts.
        var pipeline = new AuditPipeline();
        var liveAlerts = new List<IdsAlert>();
        var ids = IdsSubscriber.Subscribe(pipeline, new IdsOptions(), a => { lock (liveAlerts) liveAlerts.Add(a); });
        NetlinkAuditSource? source = null;
        try
        {
            source = new NetlinkAuditSource(pipeline, new NetlinkAuditSourceOptions { KeepEvents = 1 << 16 });
            ids.EventOf = serial => source.TryGetEvent(serial, out var ev) ? ev.Id : null;
        }
        catch (AuditUnavailableException e) { output.WriteLine($"live part skipped: {e.Message}"); }
        using var cts = new CancellationTokenSource();
        var reader = source?.RunAsync(cts.Token);
        var consumer = ids.RunAsync();

        string log = Path.Combine(Path.GetTempPath(), $"ids-kernel-{Environment.ProcessId}.log");
        try
        {
            var psi = new ProcessStartInfo("/bin/bash", [script, log]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            var stdoutTask = p.StandardOutput.ReadToEndAsync();
            var stderrTask = p.StandardError.ReadToEndAsync();
            using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2)))
                await p.WaitForExitAsync(timeout.Token);
            string stdout = await stdoutTask, stderr = await stderrTask;
            output.WriteLine(stdout + stderr);
            if (p.ExitCode == 77)
            {
                output.WriteLine($"skipped: {stderr.Trim()}");
                return;
            }
            Assert.True(p.ExitCode == 0, $"run-workload.sh failed ({p.ExitCode}): {stderr}");
            var services = IdsRecordedLogTests.Services(stdout);
            Assert.Equal(3, services.Count);

            var alerts = new List<IdsAlert>();
            IdsReplay.RunFiles([log], new IdsOptions(), alerts.Add, e => Assert.Fail(e.ToString()));
            var alert = Assert.Single(alerts);
            Assert.Equal(services["crash"], alert.Pid);
            Assert.Equal(("read", 0L), (alert.ReceiveCall, alert.ReceiveFd));

            if (source is not null)
            {
                await Task.Delay(1000);   // events without EOE (ANOM_ABEND) are complete after the source's timeout
                cts.Cancel();
                await reader!;
                pipeline.Complete();
                await consumer;
                List<IdsAlert> ours;
                lock (liveAlerts) ours = liveAlerts.Where(a => services.ContainsValue(a.Pid)).ToList();
                output.WriteLine($"live: {source.Stats}; alerts: {string.Join("; ", ours)}");
                var live = Assert.Single(ours);
                Assert.Equal((services["crash"], alert.Distance, alert.Receive.Event), (live.Pid, live.Distance, live.Receive.Event));
            }
        }
        finally
        {
            cts.Cancel();
            if (reader is not null) try { await reader; } catch (OperationCanceledException) { }
            pipeline.Complete();
            source?.Dispose();
            File.Delete(log);
        }
    }
}
