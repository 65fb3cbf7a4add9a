using Filter.Audit.Pipeline;
using Filter.Tests.Engines;
using Filter.VM;
using Xunit;
using Xunit.Abstractions;
using static Filter.Tests.Pipeline.PipelineTestKit;

namespace Filter.Tests.Pipeline;

/// <summary>
/// Several producers, a slow and a fast consumer and one whose filter is swapped while records flow, and two
/// producers' processes switched off and on again and again (the per-process switch). A few
/// seconds in the normal run; <c>FILTER_PIPELINE_SECONDS=600</c> for a long run. The run goes on past that
/// time until each situation the checks are about has happened at least once (the slow consumer lost records,
/// both switched processes were skipped, the filter was swapped), so that a busy machine makes it longer, never
/// makes it fail. It fails if the run (producers, consumers, drain) exceeds its hang bound: that would be a
/// deadlock or a lost wake-up.
/// </summary>
public class PipelineLoadTests(ITestOutputHelper output)
{
    private sealed class Consumer(Subscription sub, int pauseEvery)
    {
        public readonly Subscription Sub = sub;
        public readonly List<ulong> Serials = [];
        public readonly HashSet<ulong> Ids = [];
        public readonly List<AuditEvent> Markers = [];
        public long Duplicates;

        public async Task Run()
        {
            long n = 0;
            await foreach (var e in Sub.ReadAllAsync())
            {
                if (e.Kind == AuditEventKind.RecordsLost) { Markers.Add(e); continue; }
                Serials.Add(e.Serial);
                if (!Ids.Add(e.Record.U64(RecordLayout.A0))) Duplicates++;
                if (pauseEvery > 0 && ++n % pauseEvery == 0) await Task.Delay(1);
            }
        }
    }

    [Fact]
    public async Task AccountingIsExactUnderLoadWithFilterSwaps()
    {
        double seconds = double.TryParse(Environment.GetEnvironmentVariable("FILTER_PIPELINE_SECONDS"), out var s) ? s : 3;
        var duration = TimeSpan.FromSeconds(seconds);
        var hardBound = duration + HangGuard.Bound;

        var p = new AuditPipeline();
        var fast = new Consumer(p.Subscribe("fast", Make("syscall < 50 && type == syscall"), capacity: 4096), 0);
        // Syscalls 95-99 no filter can match: dropped at open (while the swaps keep changing the snapshot).
        var slow = new Consumer(p.Subscribe("slow", Make("syscall < 95", EngineKind.Interpreter), capacity: 64), 50);
        var even = Make("syscall < 90 && a0 & 1 == 0");
        var odd = Make("syscall < 90 && a0 & 1 == 1", EngineKind.Interpreter);
        var swapped = new Consumer(p.Subscribe("swapped", even, capacity: 256), 0);
        var consumers = new[] { fast, slow, swapped };
        var consuming = consumers.Select(c => Task.Run(c.Run)).ToArray();

        int producers = Math.Clamp(Environment.ProcessorCount - 1, 2, 4);
        var contexts = Enumerable.Range(0, producers).Select(_ => p.CreateContext()).ToArray();
        var opened = new long[producers];
        using var stop = new CancellationTokenSource();
        var producing = contexts.Select((ctx, id) => Task.Factory.StartNew(() =>
        {
            ulong i = 0;
            bool perThread = id % 2 == 0;   // half the producers are told their task once, half at every open
            if (perThread) ctx.SetTask((uint)(1000 + id), Creds);
            while (!stop.IsCancellationRequested)
            {
                ulong a0 = ((ulong)id << 40) | i;
                uint nr = (uint)(i % 100);
                if (perThread) ctx.Open(AuditArch.X86_64, nr);
                else ctx.Open(AuditArch.X86_64, nr, (uint)(1000 + id), Creds);
                if (i % 1000 != 999) ctx.SubmitArguments(a0);       // some uninstrumented (a0 = 0 then)
                ctx.Close(0, true, (long)i);
                i++;
            }
            opened[id] = (long)i;
        }, TaskCreationOptions.LongRunning)).ToArray();

        int swaps = 0;
        var swapping = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(10);
                p.SetFilter(swapped.Sub, ++swaps % 2 == 0 ? even : odd);
            }
        });
        // Producer 0 is told its task once, producer 1 at every open: the switch must reach both.
        int flips = 0;
        var switching = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(3);
                bool on = ++flips % 2 == 0;
                p.SetAuditing(1000, on);
                p.SetAuditing(1001, on);
            }
            p.SetAuditing(1000, true);
            p.SetAuditing(1001, true);
        });

        var stopping = Task.Run(async () =>
        {
            await Task.Delay(duration);
            while (!(Volatile.Read(ref swaps) > 2 && slow.Sub.Stats.Lost > 0
                     && contexts[0].SkippedByProcess > 0 && contexts[1].SkippedByProcess > 0))
                await Task.Delay(10);
            stop.Cancel();
        });
        var all = Task.WhenAll([.. producing, swapping, switching, stopping]).ContinueWith(_ => p.Complete())
            .ContinueWith(_ => Task.WhenAll(consuming)).Unwrap();
        await all.WaitAsync(hardBound);   // TimeoutException = deadlock or lost wake-up
        await Task.WhenAll(producing);

        long committed = contexts.Sum(c => c.Committed);
        // Every record opened was either produced (committed) or not, its process being switched off.
        for (int id = 0; id < producers; id++)
            Assert.Equal(opened[id], contexts[id].Committed + contexts[id].SkippedByProcess);
        Assert.True(contexts[0].SkippedByProcess > 0 && contexts[1].SkippedByProcess > 0, "the switch should have skipped records");
        Assert.All(contexts.Skip(2), c => Assert.Equal(0, c.SkippedByProcess));
        foreach (var c in consumers)
        {
            var st = c.Sub.Stats;
            output.WriteLine($"{c.Sub.Name}: {st}, markers {c.Markers.Count}, swaps {swaps}, switch flips {flips}");
            Assert.Equal(committed, st.Produced);
            Assert.True(st.Balanced, $"{c.Sub.Name}: {st}");
            Assert.Equal(st.Delivered, st.Consumed);
            Assert.Equal(st.Delivered, c.Serials.Count);
            Assert.Equal(st.Lost, c.Markers.Sum(m => m.LostCount));
            Assert.Equal(c.Markers.Count, st.MarkersDelivered);
            Assert.Equal(c.Serials.Count, c.Serials.Distinct().Count());   // never duplicated
            var received = c.Serials.ToHashSet();
            foreach (var m in c.Markers)
            {
                Assert.True(m.LostCount >= 1 && m.FirstLostSerial <= m.LastLostSerial, m.ToString());
                Assert.DoesNotContain(m.FirstLostSerial, received);
                Assert.DoesNotContain(m.LastLostSerial, received);
                Assert.True((ulong)m.LostCount <= m.LastLostSerial - m.FirstLostSerial + 1, m.ToString());
                Assert.True(m.LastLostSerial <= (ulong)p.SerialsIssued);
            }
        }
        // The fast subscriber's filter is fixed: exactly the matching instrumented records were produced for it.
        Assert.Equal(0, fast.Duplicates);
        Assert.True(slow.Markers.Count > 0, "the slow consumer should have lost records");
        Assert.True(swaps > 2);
        Assert.True(p.UninstrumentedCalls > 0);
    }
}
