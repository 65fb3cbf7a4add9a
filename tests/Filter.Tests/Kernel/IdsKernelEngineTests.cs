using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Filter.Audit.Ids;
using Filter.Tests.Engines;
using Filter.Tests.Ids;
using Filter.Tests.Live;
using Xunit;
using Xunit.Abstractions;

namespace Filter.Tests.Kernel;

/// <summary>
/// <c>filterc ids --kernel</c>: the IDS's pre-filter runs in the kernel (the signal program included) while
/// tools/ids/run-workload.sh runs its three scenarios; exactly one alert, for the service that read then
/// crashed, as the IDS finds in the log auditd wrote for the same run; SIGTERM detaches and ends it with 0.
/// Needs root, BPF, BTF, a running auditd, auditctl, ausearch and gcc (the script's); skipped with the reason elsewhere.
/// </summary>
[Collection(KernelCollection.Name), Trait(KernelRequirements.Category, KernelRequirements.Kernel), Trait(KernelRequirements.Category, KernelRequirements.Audit)]
public class IdsKernelEngineTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task IdsKernelRaisesExactlyTheAlertTheLogGives()
    {
        KernelRequirements.RequireBpfTracing();
        KernelRequirements.RequireAuditd();
        KernelRequirements.RequireCommands("auditctl", "ausearch", "gcc");
        var script = IdsKernelTests.Script();
        Skip.If(script is null, "tools/ids/run-workload.sh not found above the test directory");

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "filterc.dll"), "ids", "--kernel", "--json" }) start.ArgumentList.Add(a);
        using var ids = Process.Start(start)!;
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        ids.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.AppendLine(e.Data); };
        ids.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        ids.BeginOutputReadLine();
        ids.BeginErrorReadLine();
        string log = Path.Combine(Path.GetTempPath(), $"ids-kernel-engine-{Environment.ProcessId}.log");
        try
        {
            KernelLiveTests.AwaitCondition(() => Text(stderr).Contains("listening") || ids.HasExited, "filterc ids --kernel attached");
            Assert.True(Text(stderr).Contains("listening"), $"filterc ids --kernel did not attach: {Text(stderr)}");

            var psi = new ProcessStartInfo("/bin/bash", [script!, log]) { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.Environment["IDS_AUID"] = (4_100_000_000u + (uint)Random.Shared.Next(100_000)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            using var p = Process.Start(psi)!;
            var stdoutTask = p.StandardOutput.ReadToEndAsync();
            var stderrTask = p.StandardError.ReadToEndAsync();
            using (var timeout = new CancellationTokenSource(HangGuard.Bound))
                await p.WaitForExitAsync(timeout.Token);
            string workload = await stdoutTask, problems = await stderrTask;
            output.WriteLine(workload + problems);
            Skip.If(p.ExitCode == 77, problems.Trim());
            Assert.True(p.ExitCode == 0, $"run-workload.sh failed ({p.ExitCode}): {problems}");
            var services = IdsRecordedLogTests.Services(workload);
            Assert.Equal(3, services.Count);

            var fromLog = new List<IdsAlert>();
            IdsReplay.RunFiles([log], new IdsOptions(), fromLog.Add, e => Assert.Fail(e.ToString()));
            var expected = Assert.Single(fromLog);
            Assert.Equal(services["crash"], expected.Pid);

            KernelLiveTests.AwaitCondition(() => Alerts(stdout).Any(a => a.Pid == services["crash"]), "the kernel engine's alert for the crashing service");
            Process.Start("kill", $"-TERM {ids.Id}")!.WaitForExit();
            Assert.True(ids.WaitForExit(10_000), "filterc ids --kernel did not end after SIGTERM");
            ids.WaitForExit();
            output.WriteLine(Text(stderr));
            Assert.Equal(0, ids.ExitCode);
            Assert.Matches(@"the kernel filter ran on \d+ system calls, \d+ records passed \(lost 0\)", Text(stderr));
            var ours = Alerts(stdout).Where(a => services.ContainsValue(a.Pid)).ToList();
            var alert = Assert.Single(ours);
            output.WriteLine($"kernel: n {alert.Distance}; log: n {expected.Distance}");
            Assert.Equal((expected.Pid, expected.ReceiveCall), (alert.Pid, alert.ReceiveCall));
        }
        finally
        {
            if (!ids.HasExited) ids.Kill();
            File.Delete(log);
        }
    }

    private static List<(uint Pid, string ReceiveCall, long Distance)> Alerts(StringBuilder stdout) =>
        [.. Text(stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
        {
            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            return (root.GetProperty("pid").GetUInt32(), root.GetProperty("receive").GetString() ?? "", root.GetProperty("n").GetInt64());
        })];

    private static string Text(StringBuilder sb)
    {
        lock (sb) return sb.ToString();
    }
}
