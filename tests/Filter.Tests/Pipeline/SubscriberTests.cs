using Xunit;
using Filter.Audit.Pipeline;
using Filter.Tests.Engines;
using Filter.VM;
using static Filter.Tests.Pipeline.PipelineTestKit;

namespace Filter.Tests.Pipeline;

public class SubscriberTests
{
    public static TheoryData<EngineKind> Engines => new() { EngineKind.Interpreter, EngineKind.Jit };

    [Theory, MemberData(nameof(Engines))]
    public void EachSubscriberGetsWhatItsFilterWants(EngineKind engine)
    {
        var p = new AuditPipeline();
        var execs = p.Subscribe("execs", Make("syscall == execve", engine));
        var fails = p.Subscribe("fails", Make("exit < 0", engine));
        var ctx = p.CreateContext();
        Assert.Equal(1, Syscall(ctx, 59));
        Assert.Equal(1, Syscall(ctx, 2, exit: -2));
        Assert.Equal(2, Syscall(ctx, 59, exit: -13));
        Assert.Equal(0, Syscall(ctx, 96));

        Assert.Equal([1UL, 3UL], Drain(execs).Select(e => e.Serial));
        Assert.Equal([2UL, 3UL], Drain(fails).Select(e => e.Serial));
        Assert.Equal(new SubscriberStats(4, 2, 2, 0, 2, 0), execs.Stats);
        Assert.Equal(new SubscriberStats(4, 2, 2, 0, 2, 0), fails.Stats);
    }

    [Fact]
    public void ARecordNobodyWantsIsNeitherCopiedNorNumbered()
    {
        var p = new AuditPipeline();
        var s = p.Subscribe("none", Make("false"));
        var ctx = p.CreateContext();
        for (int i = 0; i < 100; i++) Assert.Equal(0, Syscall(ctx, 96));
        Assert.Equal(0, p.SerialsIssued);
        Assert.Equal(new SubscriberStats(100, 0, 100, 0, 0, 0), s.Stats);
        Assert.False(s.TryRead(out _));
    }

    [Fact]
    public void WithoutSubscribersRecordsAreDropped()
    {
        var p = new AuditPipeline();
        var ctx = p.CreateContext();
        Assert.Equal(0, Syscall(ctx, 1));
        Assert.Equal(1, ctx.Committed);
    }

    [Fact]
    public void AFilterSwapTakesEffectAtTheNextRecord()
    {
        var p = new AuditPipeline();
        var s = p.Subscribe("s", Make("syscall == 1"));
        var ctx = p.CreateContext();
        Syscall(ctx, 1);
        Syscall(ctx, 2);
        p.SetFilter(s, Make("syscall == 2"));
        Syscall(ctx, 1);
        Syscall(ctx, 2);
        var got = Drain(s).Select(e => e.Record.Syscall).ToList();
        Assert.Equal([1u, 2u], got);
        Assert.Equal(new SubscriberStats(4, 2, 2, 0, 2, 0), s.Stats);
    }

    [Fact]
    public void AFullQueueLosesRecordsAndAnnouncesThemBeforeTheNextOne()
    {
        var p = new AuditPipeline();
        var s = p.Subscribe("small", Make("true"), capacity: 4);
        var other = p.Subscribe("other", Make("true"), capacity: 64);
        var ctx = p.CreateContext();
        for (int i = 0; i < 10; i++) Syscall(ctx, (uint)i);    // serials 1..10: 1..4 queued, 5..10 lost
        Assert.Equal(new SubscriberStats(10, 4, 0, 6, 0, 0), s.Stats);
        Assert.Equal(0, other.Stats.Lost);

        var first = Drain(s);
        // The marker comes first (losses are announced no later than the next record), then the queued records.
        Assert.Equal(AuditEventKind.RecordsLost, first[0].Kind);
        Assert.Equal((6L, 5UL, 10UL), (first[0].LostCount, first[0].FirstLostSerial, first[0].LastLostSerial));
        Assert.Equal([1UL, 2UL, 3UL, 4UL], first.Skip(1).Select(e => e.Serial));

        Syscall(ctx, 11);                                        // serial 11 fits now
        var second = Drain(s);
        Assert.Equal([11UL], second.Select(e => e.Serial));
        Assert.Equal(new SubscriberStats(11, 5, 0, 6, 5, 1), s.Stats);
        AssertBalanced(s);
    }

    [Fact]
    public void LossesAfterQueuedRecordsAreAnnouncedBeforeTheNextRecordRead()
    {
        var p = new AuditPipeline();
        var s = p.Subscribe("s", Make("true"), capacity: 2);
        var ctx = p.CreateContext();
        Syscall(ctx, 0); Syscall(ctx, 0);                      // 1, 2 queued
        Assert.True(s.TryRead(out var one));
        Assert.Equal(1UL, one.Serial);
        Syscall(ctx, 0);                                       // 3 lost: slot of 1 is still held by the reader
        Assert.True(s.TryRead(out var marker));                // frees slot 1
        Assert.Equal((AuditEventKind.RecordsLost, 1L, 3UL, 3UL), (marker.Kind, marker.LostCount, marker.FirstLostSerial, marker.LastLostSerial));
        Syscall(ctx, 0);                                       // 4 queued
        Assert.Equal([2UL, 4UL], Drain(s).Select(e => e.Serial));
        Assert.Equal(new SubscriberStats(4, 3, 0, 1, 3, 1), s.Stats);
    }

    [Fact]
    public void ASubscriberWhoJoinsLateCountsOnlyRecordsSinceItJoined()
    {
        var p = new AuditPipeline();
        var ctx = p.CreateContext();
        var a = p.Subscribe("a", Make("true"));
        Syscall(ctx, 0);
        var b = p.Subscribe("b", Make("true"));
        Syscall(ctx, 0);
        Assert.Equal(2, a.Stats.Produced);
        Assert.Equal(1, b.Stats.Produced);
    }

    [Fact]
    public async Task ReadersEndWhenTheSubscriberLeavesAfterDraining()
    {
        var p = new AuditPipeline();
        var s = p.Subscribe("s", Make("true"));
        var ctx = p.CreateContext();
        Syscall(ctx, 0); Syscall(ctx, 1);
        var reading = Task.Run(async () =>
        {
            var got = new List<uint>();
            await foreach (var e in s.ReadAllAsync()) got.Add(e.Record.Syscall);
            return got;
        });
        await Task.Delay(50);
        Syscall(ctx, 2);
        p.Unsubscribe(s);
        Syscall(ctx, 3);                                      // after leaving: not produced for s
        var got = await reading.WaitAsync(HangGuard.Bound);
        Assert.Equal([0u, 1u, 2u], got);
        Assert.Equal(new SubscriberStats(3, 3, 0, 0, 3, 0), s.Stats);
        Assert.Null(s.Filter);
    }

    [Fact]
    public async Task AnIdleReaderWakesForARecordAndForALoss()
    {
        var p = new AuditPipeline();
        var s = p.Subscribe("s", Make("true"), capacity: 2);
        var ctx = p.CreateContext();
        var wait = s.WaitToReadAsync().AsTask();
        await Task.Delay(20);
        Assert.False(wait.IsCompleted);
        Syscall(ctx, 0);
        Assert.True(await wait.WaitAsync(HangGuard.Bound));
        Assert.True(s.TryRead(out _));
        Assert.False(s.TryRead(out _));
        p.Complete();
        Assert.False(await s.WaitToReadAsync().AsTask().WaitAsync(HangGuard.Bound));
    }
}
