using Filter.Audit.Formats;
using Filter.Audit.Pipeline;
using Filter.VM;
using Xunit;
using static Filter.Tests.Pipeline.PipelineTestKit;

namespace Filter.Tests.Pipeline;

public class ReplayTests
{
    private static readonly string Log = Path.Combine(AppContext.BaseDirectory, "samples", "audit.log");

    [Fact]
    public async Task AnAuditdLogReplaysThroughThePipelineLikeALiveStream()
    {
        const string connects = "syscall == connect && exit == -ECONNREFUSED";
        // The expected records: the log read directly, filtered by the same program.
        var direct = Make(connects);
        var expected = new List<(long, byte[])>();
        long syscallEvents = 0, events = 0;
        using (var reader = AuditdReader.OpenFiles([Log]))
        {
            var b = new RecordBuilder();
            ReadResult r;
            while ((r = reader.Read(b)) != ReadResult.End)
            {
                if (r != ReadResult.Record) continue;
                events++;
                if (!reader.HasSyscall) continue;
                syscallEvents++;
                var bytes = b.Build();
                if (direct.Run(new Record(bytes)) != 0)
                    expected.Add(((long)reader.EventId.Seconds * 1000 + reader.EventId.Millis, bytes.ToArray()));
            }
        }
        Assert.NotEmpty(expected);

        var p = new AuditPipeline();
        var sub = p.Subscribe("connects", Make(connects, EngineKind.Interpreter), capacity: 1 << 14);
        var none = p.Subscribe("none", Make("false"));
        ReplayResult result;
        using (var reader = AuditdReader.OpenFiles([Log]))
            result = AuditdReplay.Run(reader, p.CreateContext());
        p.Complete();

        var got = new List<(long, byte[])>();
        await foreach (var e in sub.ReadAllAsync()) got.Add((e.Timestamp, e.Bytes.ToArray()));
        Assert.Equal(new ReplayResult(events, syscallEvents, events - syscallEvents, 0, 0), result);
        Assert.Equal(expected.Count, got.Count);
        for (int i = 0; i < got.Count; i++)
        {
            Assert.Equal(expected[i].Item1, got[i].Item1);
            Assert.Equal(expected[i].Item2, got[i].Item2);
        }
        Assert.Equal(new SubscriberStats(syscallEvents, expected.Count, syscallEvents - expected.Count, 0, expected.Count, 0), sub.Stats);
        Assert.Equal(new SubscriberStats(syscallEvents, 0, syscallEvents, 0, 0, 0), none.Stats);
    }

    [Fact]
    public void AnOutOfRangeTimeIsABadLineNotACrash()
    {
        // The replay converted the time to milliseconds with checked arithmetic: this line threw OverflowException.
        string fields = Filter.Tests.Auditd.KernelText.Syscall("arch=c000003e syscall=59 success=yes exit=0");
        string log = $"type=SYSCALL msg=audit(9300000000000000.000:1): {fields}\ntype=SYSCALL msg=audit(1795731042.524:2): {fields}\n";
        var p = new AuditPipeline();
        var errors = new List<Diagnostic>();
        ReplayResult result;
        using (var reader = new AuditdReader(new MemoryStream(System.Text.Encoding.ASCII.GetBytes(log)), "audit.log"))
            result = AuditdReplay.Run(reader, p.CreateContext(), errors.Add);
        Assert.Equal(new ReplayResult(1, 1, 0, 0, 1), result);
        Assert.Equal(("audit.log", 1L), (errors.Single().File, errors.Single().Location.Line));
        Assert.Contains("event time 9300000000000000.000 is out of range", errors.Single().Message);
    }
}
