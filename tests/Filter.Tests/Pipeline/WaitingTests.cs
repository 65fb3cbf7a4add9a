using Xunit;
using Filter.Audit.Pipeline;
using Filter.VM;
using Filter.Tests.Engines;
using static Filter.Tests.Pipeline.PipelineTestKit;

namespace Filter.Tests.Pipeline;

/// <summary>Runs alone, after the parallel tests, so that no other test's threads take its cores.</summary>
[CollectionDefinition(nameof(AllocationCollection), DisableParallelization = true)]
public sealed class AllocationCollection;

[Collection(nameof(AllocationCollection))]
public class WaitingTests
{
    /// <summary>
    /// One record at a time, each read before the next is committed: the consumer waits for every one. Counted
    /// are the bytes allocated by the producer's thread and by the consumer's own thread (a dedicated thread
    /// that blocks on each wait's completion), never the whole process's: the thread pool, the JIT and the test
    /// runner allocate on their threads whenever they like, more under load. Between the two threads run the
    /// wait's arming, the producer's wake-up and the consumer's resumption; a wait that allocated (a completion
    /// source, a task, the async method's state: 24+ bytes each) would show as at least 24 x 5,000 bytes
    /// (without the pooling builder on <c>WaitToReadAsync</c>: 719,712).
    /// </summary>
    [Fact]
    public void AConsumerThatWaitsForEveryRecordAllocatesNothing()
    {
        var p = new AuditPipeline();
        var s = p.Subscribe("all", Make("true"));
        var ctx = p.CreateContext();
        ctx.SetTask(100, Creds);
        long read = 0, consumerBytes = 0;
        bool measuring = false;
        var consumer = new Thread(() =>
        {
            using var ready = new SemaphoreSlim(0);
            Action wake = () => ready.Release();
            while (true)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                var wait = s.WaitToReadAsync().GetAwaiter();
                if (!wait.IsCompleted)
                {
                    wait.UnsafeOnCompleted(wake);   // runs where the wait completes: no context, no allocation
                    ready.Wait();
                }
                if (!wait.GetResult()) break;
                while (s.TryRead(out _)) Interlocked.Increment(ref read);
                if (Volatile.Read(ref measuring)) consumerBytes += GC.GetAllocatedBytesForCurrentThread() - before;
            }
        });
        consumer.Start();
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
        Volatile.Write(ref measuring, true);
        long producerBytes = GC.GetAllocatedBytesForCurrentThread();
        Produce(Waits);
        producerBytes = GC.GetAllocatedBytesForCurrentThread() - producerBytes;
        Volatile.Write(ref measuring, false);
        p.Complete();
        Assert.True(consumer.Join(HangGuard.Bound), "the consumer did not end after Complete");
        // Normally 0. Less than a byte per wait leaves room for a one-off structure of the runtime's that one of
        // these threads happens to grow (a thread-pool queue segment), never for anything allocated per wait.
        Assert.True(producerBytes + consumerBytes < Waits, $"{producerBytes} bytes allocated by the producer, {consumerBytes} by the consumer over {Waits} waits");
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
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(HangGuard.Bound));
        }
        using (var cancelled = new CancellationTokenSource())
        {
            cancelled.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => s.WaitToReadAsync(cancelled.Token).AsTask());
        }
        var next = s.WaitToReadAsync().AsTask();
        Syscall(ctx, 1);
        Assert.True(await next.WaitAsync(HangGuard.Bound));
        Assert.True(s.TryRead(out var e));
        Assert.Equal(AuditEventKind.Record, e.Kind);
        var end = s.WaitToReadAsync(new CancellationTokenSource().Token).AsTask();
        p.Complete();
        Assert.False(await end.WaitAsync(HangGuard.Bound));
    }
}
