using System.Text;
using System.Text.RegularExpressions;
using Filter.Audit.Formats;
using Filter.Audit.Ids;
using Filter.Compiler.Tables;
using Filter.VM;
using Xunit;

namespace Filter.Tests.Ids;

/// <summary>
/// The IDS end to end on the recorded run of tools/ids/run-workload.sh (Data/ids/README.md): a service that
/// reads then crashes, one that reads then exits, one that crashes without reading.
/// </summary>
public partial class IdsRecordedLogTests
{
    private static string Dir => Path.Combine(AppContext.BaseDirectory, "Data", "ids");
    private static string Log => Path.Combine(Dir, "workload.log");

    [GeneratedRegex(@"service (\d+) \((\w+)\)")]
    private static partial Regex ServiceLine();

    /// <summary>The service pid of each scenario, from what the super-server printed.</summary>
    internal static Dictionary<string, uint> Services(string superserverOutput) =>
        ServiceLine().Matches(superserverOutput).ToDictionary(m => m.Groups[2].Value, m => uint.Parse(m.Groups[1].Value));

    private static List<IdsAlert> Run(IdsOptions options, string? log = null)
    {
        var alerts = new List<IdsAlert>();
        var (result, _) = IdsReplay.RunFiles([log ?? Log], options, alerts.Add, e => Assert.Fail(e.ToString()));
        Assert.Equal(0, result.InputErrors);
        return alerts;
    }

    /// <summary>
    /// The distance counted independently, from the log's lines: the crashing service's SYSCALL events after its
    /// first successful read of fd 0, up to its ANOM_ABEND (all of them, or only those of the given syscalls).
    /// </summary>
    private static int DistanceInLog(uint pid, Func<string, bool> counted)
    {
        int n = -1;
        foreach (var line in File.ReadLines(Log))
        {
            if (line.StartsWith("type=ANOM_ABEND ") && line.Contains($" pid={pid} ")) return n;
            if (!line.StartsWith("type=SYSCALL ") || !line.Contains($" pid={pid} ")) continue;
            string nr = Regex.Match(line, @" syscall=(\d+) ").Groups[1].Value;
            string name = Syscalls.NameOf(AuditArch.X86_64, int.Parse(nr))!;
            if (n < 0)
            {
                if (name == "read" && line.Contains(" a0=0 ") && Regex.IsMatch(line, @" exit=[1-9]")) n = 0;
            }
            else if (counted(name)) n++;
        }
        throw new InvalidOperationException($"no ANOM_ABEND for {pid}");
    }

    [Fact]
    public void ExactlyOneAlertForTheServiceThatReadThenCrashed()
    {
        var pids = Services(File.ReadAllText(Path.Combine(Dir, "workload.out")));
        var crash = pids["crash"];
        var alert = Assert.Single(Run(new IdsOptions()));
        Assert.Equal(crash, alert.Pid);
        Assert.EndsWith("/service", alert.Exe);
        Assert.Equal(("read", 0L, 22L), (alert.ReceiveCall, alert.ReceiveFd, alert.Returned));
        Assert.NotNull(alert.Receive.Event);
        Assert.True(alert.Receive.Event!.Value.CompareTo(alert.Crash.Event!.Value) < 0);
        // The default pre-filter passes the openat and close between the read and the crash, not getpid or write.
        var passed = IdsPreFilter.SyscallNames.ToHashSet();
        Assert.Equal(DistanceInLog(crash, passed.Contains), alert.Distance);
        Assert.Equal(2, alert.Distance);
        Assert.Equal(0, alert.RecordsLostBetween);
    }

    [Fact]
    public void WithScopeTrueTheDistanceCountsEverySyscall()
    {
        var pids = Services(File.ReadAllText(Path.Combine(Dir, "workload.out")));
        var alert = Assert.Single(Run(new IdsOptions { Scope = "true" }));
        Assert.Equal(pids["crash"], alert.Pid);
        Assert.Equal(DistanceInLog(pids["crash"], _ => true), alert.Distance);
        Assert.Equal(4, alert.Distance);
    }

    [Theory]
    [InlineData(null, 2, true)]
    [InlineData(null, 1, false)]
    [InlineData("true", 4, true)]
    [InlineData("true", 3, false)]
    public void TheWindowDecides(string? scope, int window, bool alerts) =>
        Assert.Equal(alerts ? 1 : 0, Run(new IdsOptions { Scope = scope, Window = window }).Count);

    [Fact]
    public void NoAlertForTheServiceThatExitedOrCrashedWithoutReading()
    {
        // The log without the crashing service's lines: the other two scenarios alone.
        var crash = Services(File.ReadAllText(Path.Combine(Dir, "workload.out")))["crash"];
        string rest = Path.Combine(Path.GetTempPath(), $"ids-rest-{Environment.ProcessId}.log");
        try
        {
            File.WriteAllLines(rest, File.ReadLines(Log).Where(l => !l.Contains($" pid={crash} ")));
            Assert.Contains(File.ReadLines(rest), l => l.StartsWith("type=ANOM_ABEND "));   // noread's crash is still there
            Assert.Empty(Run(new IdsOptions(), rest));
            Assert.Empty(Run(new IdsOptions { Scope = "true" }, rest));
        }
        finally
        {
            File.Delete(rest);
        }
    }

    [Fact]
    public void ThePreFilterPassesFewRecords()
    {
        var pipeline = new Filter.Audit.Pipeline.AuditPipeline();
        var ids = IdsSubscriber.Subscribe(pipeline, new IdsOptions(), _ => { });
        using var reader = AuditdReader.OpenFiles([Log]);
        var result = IdsReplay.Run(reader, pipeline.CreateContext(), ids);
        var stats = ids.Subscription.Stats;
        Assert.Equal(result.SyscallRecords + result.SignalRecords, stats.Produced);
        Assert.True(stats.Balanced);
        Assert.Equal(0, stats.Lost);
        Assert.InRange(stats.Delivered, 10, stats.Produced / 2);
    }
}
