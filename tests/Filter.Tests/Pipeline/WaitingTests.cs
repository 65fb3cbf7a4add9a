using Xunit;
using Filter.Audit.Pipeline;
using Filter.VM;
using static Filter.Tests.Pipeline.PipelineTestKit;

namespace Filter.Tests.Pipeline;

/// <summary>Runs alone, after the parallel tests: it measures the whole process's allocations.</summary>
[CollectionDefinition(nameof(AllocationCollection), DisableParallelization = true)]
public sealed class AllocationCollection;

[Collection(nameof(AllocationCollection))]
public class WaitingTests
{
    [Fact]
    public async Task AConsumerThatWaitsForEveryRecordAllocatesNothing()
    {
        // One record at a time, each read before the next is committed: the consumer waits for every one.
        var p = new AuditPipeline();
        var s = p.Subscribe("all", Make("true"));
        var ctx = p.CreateContext();
        ctx.SetTask(100, Creds);
        long read = 0;
        var consumer = Task.Run(async () =>
        {
            while (await s.WaitToReadAsync())
                while (s.TryRead(out _)) Interlocked.Increment(ref read);
        });
        void Produce(int records)
        {
            for (int i = 0; i < records; i++)
            {
                long before = Volatile.Read(ref read);
                ctx.Open(AuditArch.X86_64, 1);
                ctx.Close(0, true, i);
                var spin = new SpinWait();
                while (Volatile.Read(ref read) == before) spin.SpinOnce(sleep1Threshold: -1);
            }
        }
        Produce(2_000); // warm-up: pools, tiered code
        const int Waits = 5_000;
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        Produce(Waits);
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        p.Complete();
        await consumer.WaitAsync(TimeSpan.FromSeconds(30));
        // A wait that allocated (a completion source, a task, the async method's state) would be 100+ bytes
        // each; allow the thread pool a little of its own.
        Assert.True(allocated < Waits * 4, $"{allocated} bytes allocated over {Waits} waits");
        Assert.Equal(7_000, read);
    }

    [Fact]
    public async Task ACancelledWaitThrowsAndTheNextOneWorks()
    {
        var p = new AuditPipeline();
        var s = p.Subscribe("all", Make("true"));
        var ctx = p.CreateContext();
        using (var cts = new CancellationTokenSource())
        {
            var wait = s.WaitToReadAsync(cts.Token).AsTask();
            await Task.Delay(20);
            Assert.False(wait.IsCompleted);
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(TimeSpan.FromSeconds(10)));
        }
        using (var cancelled = new CancellationTokenSource())
        {
            cancelled.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => s.WaitToReadAsync(cancelled.Token).AsTask());
        }
        var next = s.WaitToReadAsync().AsTask();
        Syscall(ctx, 1);
        Assert.True(await next.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(s.TryRead(out var e));
        Assert.Equal(AuditEventKind.Record, e.Kind);
        var end = s.WaitToReadAsync(new CancellationTokenSource().Token).AsTask();
        p.Complete();
        Assert.False(await end.WaitAsync(TimeSpan.FromSeconds(10)));
    }
}
