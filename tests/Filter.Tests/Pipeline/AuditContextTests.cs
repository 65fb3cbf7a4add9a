using Xunit;
using Filter.Audit.Pipeline;
using Filter.VM;
using static Filter.Tests.Pipeline.PipelineTestKit;

namespace Filter.Tests.Pipeline;

public class AuditContextTests
{
    [Fact]
    public void LifecycleFillsTheRecord()
    {
        var p = new AuditPipeline();
        var all = p.Subscribe("all", Make("true"));
        var ctx = p.CreateContext();
        Assert.True(ctx.Open(AuditArch.X86_64, 257, 4242, Creds, "cat"u8, "/usr/bin/cat"u8));
        Assert.True(ctx.IsOpen);
        ctx.SubmitArguments(1, 2, 3, 4, 5, 6);
        Assert.Equal(1, ctx.Close(-13, false, 777));
        Assert.False(ctx.IsOpen);

        Assert.True(all.TryRead(out var e));
        Assert.Equal(AuditEventKind.Record, e.Kind);
        Assert.Equal(1UL, e.Serial);
        Assert.Equal(777, e.Timestamp);
        var r = e.Record;
        Assert.Equal(AuditArch.X86_64, r.Arch);
        Assert.Equal(257u, r.Syscall);
        Assert.Equal(-13, r.Exit);
        Assert.False(r.Success);
        Assert.Equal(4242u, r.U32(RecordLayout.Pid));
        Assert.Equal(1000u, r.U32(RecordLayout.Uid));
        Assert.Equal(6UL, r.U64(RecordLayout.A5));
        Assert.Equal(0, r.Bytes[RecordLayout.Type]);
        Assert.Equal("cat", System.Text.Encoding.UTF8.GetString(r.Comm));
        Assert.Equal("/usr/bin/cat", System.Text.Encoding.UTF8.GetString(r.Exe));
    }

    [Fact]
    public void NoByteOfALongerCommSurvivesInTheNextRecord()
    {
        var p = new AuditPipeline();
        var all = p.Subscribe("all", Make("true"));
        var ctx = p.CreateContext();
        ctx.Open(AuditArch.X86_64, 1, 1, Creds, "a-long-command"u8);
        ctx.SubmitArguments(0);
        ctx.Close(0, true, 0);
        ctx.Open(AuditArch.X86_64, 1, 1, Creds, "ls"u8);
        ctx.SubmitArguments(0);
        ctx.Close(0, true, 0);
        var events = Drain(all);
        var commSlot = events[1].Bytes.Span.Slice(RecordLayout.HeaderSize, RecordLayout.CommMaxLength);
        Assert.Equal("ls"u8.ToArray(), commSlot[..2].ToArray());
        Assert.True(commSlot[2..].IndexOfAnyExcept((byte)0) < 0, Convert.ToHexString(commSlot));
    }

    [Fact]
    public void StringsOfEveryLengthAreCopiedExactly()
    {
        // Every length from 0 to 69 bytes, longer ones, and the field limits;
        // each record after one with longer strings, so a byte the copy missed shows as a leftover.
        var p = new AuditPipeline();
        var all = p.Subscribe("all", Make("true"), 512);
        var ctx = p.CreateContext();
        byte[] Text(int n, char first) => Enumerable.Range(0, n).Select(i => (byte)(first + i % 26)).ToArray();
        var lengths = Enumerable.Range(0, 70).Concat([100, 4095, 4096, 4097]).Reverse().ToArray();
        foreach (int n in lengths)
        {
            ctx.Open(AuditArch.X86_64, 1, 1, Creds, Text(Math.Min(n, 20), 'a'), Text(n, 'A'));
            ctx.SubmitArguments(0);
            ctx.Close(0, true, 0);
        }
        var events = Drain(all);
        Assert.Equal(lengths.Length, events.Count);
        for (int k = 0; k < lengths.Length; k++)
        {
            int n = lengths[k];
            var record = events[k].Record;
            Assert.Equal(Text(Math.Min(n, RecordLayout.ExeMaxLength), 'A'), record.Exe.ToArray());
            int comm = Math.Min(Math.Min(n, 20), RecordLayout.CommMaxLength);
            Assert.Equal(Text(comm, 'a'), record.Comm.ToArray());
            var slot = events[k].Bytes.Span.Slice(RecordLayout.HeaderSize + comm, RecordLayout.CommMaxLength - comm);
            Assert.True(slot.IndexOfAnyExcept((byte)0) < 0, $"comm of {comm}: {Convert.ToHexString(slot)}");
        }
    }

    [Fact]
    public void TheRecordIsReusedSoNothingLeaksFromTheLastOne()
    {
        var p = new AuditPipeline();
        var all = p.Subscribe("all", Make("true"));
        var ctx = p.CreateContext();
        ctx.Open(AuditArch.X86_64, 1, 1, Creds, "first"u8);
        ctx.SubmitArguments(99, 99, 99, 99, 99, 99);
        ctx.Close(5, true, 0);
        ctx.Open(AuditArch.X86_64, 2, 1, Creds);
        ctx.SubmitArguments(1);
        ctx.Close(0, true, 0);
        var events = Drain(all);
        Assert.Equal(2, events.Count);
        Assert.Equal(0UL, events[1].Record.U64(RecordLayout.A1));
        Assert.True(events[1].Record.Comm.IsEmpty);
    }

    [Fact]
    public void TheTaskTagsEveryRecordUntilItChanges()
    {
        var p = new AuditPipeline();
        var all = p.Subscribe("all", Make("true"));
        var ctx = p.CreateContext();
        ctx.SetTask(4242, Creds, "cat"u8, "/usr/bin/cat"u8);
        for (uint nr = 0; nr < 3; nr++)
        {
            Assert.True(ctx.Open(AuditArch.X86_64, nr));
            ctx.SubmitArguments(nr);
            ctx.Close(0, true, 0);
        }
        ctx.SetCredentials(Creds with { Uid = 0, Euid = 0 });   // setuid(0)
        ctx.Open(AuditArch.X86_64, 105);
        ctx.SubmitArguments(0);
        ctx.SetTask(4242, Creds with { Uid = 0, Euid = 0 }, "sh"u8, "/usr/bin/sh"u8);   // execve, during the syscall
        ctx.Close(0, true, 0);
        Assert.Equal(1, ctx.Signal(11, 0));

        var records = Drain(all).Select(e => e.Record.Bytes.ToArray()).ToArray();
        Assert.Equal(5, records.Length);
        for (int k = 0; k < 3; k++)
        {
            var r = new Record(records[k]);
            Assert.Equal((uint)k, r.Syscall);
            Assert.Equal(4242u, r.U32(RecordLayout.Pid));
            Assert.Equal(1000u, r.U32(RecordLayout.Uid));
            Assert.Equal("/usr/bin/cat", System.Text.Encoding.UTF8.GetString(r.Exe));
        }
        var exec = new Record(records[3]);
        Assert.Equal(0u, exec.U32(RecordLayout.Euid));
        Assert.Equal(1u, exec.U32(RecordLayout.Ppid));
        Assert.Equal("sh", System.Text.Encoding.UTF8.GetString(exec.Comm));
        Assert.Equal("/usr/bin/sh", System.Text.Encoding.UTF8.GetString(exec.Exe));
        var signal = new Record(records[4]);
        Assert.Equal(RecordLayout.EventTypeSignal, signal.Bytes[RecordLayout.Type]);
        Assert.Equal(11u, signal.U32(RecordLayout.Sig));
        Assert.Equal(0u, signal.Syscall);
        Assert.Equal(0UL, signal.U64(RecordLayout.A0));
        Assert.Equal("/usr/bin/sh", System.Text.Encoding.UTF8.GetString(signal.Exe));
    }

    [Fact]
    public void WithoutATaskOnlyTheOverloadsThatTakeOneWork()
    {
        var p = new AuditPipeline();
        var all = p.Subscribe("all", Make("true"));
        var ctx = p.CreateContext();
        Assert.Contains("SetTask", Assert.Throws<InvalidOperationException>(() => ctx.Open(AuditArch.X86_64, 0)).Message);
        Assert.Throws<InvalidOperationException>(() => ctx.Signal(11, 0));
        Assert.Throws<InvalidOperationException>(() => ctx.SetCredentials(Creds));
        Assert.False(ctx.IsOpen);
        Assert.Equal(1, ctx.CommitRecord(new byte[RecordLayout.HeaderSize], 0));   // a replayed record needs none
        Assert.Equal(1, Syscall(ctx, 0, pid: 7));                                  // Open with the identity sets it
        Assert.True(ctx.Open(AuditArch.X86_64, 1));
        ctx.Close(0, true, 0);
        Assert.Equal(7u, Drain(all)[^1].Record.U32(RecordLayout.Pid));
    }

    /// <summary>Runs its filter and counts the runs; does <paramref name="before"/> first (here: a control operation, as if concurrent).</summary>
    private sealed class CountingFilter(IRecordFilter inner, Action? before = null) : IRecordFilter
    {
        public int Runs;
        public VerifiedProgram Program => inner.Program;
        public EngineKind Engine => inner.Engine;
        public uint Run(Record record) { before?.Invoke(); Runs++; return inner.Run(record); }
        public int RunBatch(RecordBatch batch, Span<uint> verdicts) => inner.RunBatch(batch, verdicts);
        public int MatchIndices(RecordBatch batch, Span<int> indices) => inner.MatchIndices(batch, indices);
    }

    [Fact]
    public void ASubscriberWhoseFilterCannotMatchTheSyscallIsSkipped()
    {
        // An IDS wants execve; a log writer wants failures of any call. Every syscall may match the log
        // writer's filter, so nothing is dropped at open, but the IDS's filter runs only on execve.
        var p = new AuditPipeline();
        var execs = new CountingFilter(Make("syscall == execve"));
        var failures = new CountingFilter(Make("!success", EngineKind.Interpreter));
        var ids = p.Subscribe("ids", execs);
        var log = p.Subscribe("log", failures);
        var ctx = p.CreateContext();
        Assert.Equal(0, Syscall(ctx, 96));                 // gettimeofday
        Assert.Equal(1, Syscall(ctx, 96, exit: -14));      // failed gettimeofday: log only
        Assert.Equal(1, Syscall(ctx, 59));                 // execve: ids only
        Assert.Equal(2, Syscall(ctx, 59, exit: -2));       // failed execve: both
        Assert.Equal(2, execs.Runs);
        Assert.Equal(4, failures.Runs);
        Assert.Equal(1, ctx.Signal(100, 11, Creds, 0));    // a signal is not a syscall record: every filter runs
        Assert.Equal(3, execs.Runs);
        Assert.Equal(new SubscriberStats(5, 2, 3, 0, 0, 0), ids.Stats);
        Assert.Equal(new SubscriberStats(5, 3, 2, 0, 0, 0), log.Stats);

        // Same filters everywhere: nothing to skip per subscriber (the union decides at open).
        var q = new AuditPipeline();
        var again = new CountingFilter(Make("!success"));
        q.Subscribe("a", again);
        q.Subscribe("b", again);
        Assert.Equal(0, Syscall(q.CreateContext(), 96));
        Assert.Equal(2, again.Runs);
    }

    [Fact]
    public async Task ASnapshotChangedWhileFiltersRunDecidesTheRecordAgain()
    {
        // The filters run before the commit window; a record someone wants enters it, and if the snapshot
        // changed meanwhile, the record is decided again under the current one, never half and half.
        var p = new AuditPipeline();
        var ctx = p.CreateContext();
        Subscription? a = null;
        var keepAll = new CountingFilter(Make("true"));
        var dropAll = new CountingFilter(Make("syscall == 9999"));
        var swapsToDrop = new CountingFilter(Make("true"), () => p.SetFilter(a!, dropAll));
        a = p.Subscribe("a", swapsToDrop);
        var b = p.Subscribe("b", keepAll);
        Assert.Equal(1, Syscall(ctx, 1));          // a's first filter wanted it, but by the window a's filter is dropAll
        Assert.Equal(0, dropAll.Runs);             // (whose table rules syscall 1 out: not even run)
        Assert.Equal(1, keepAll.Runs);             // b's ran once: in the decision under the new snapshot
        Assert.Equal(new SubscriberStats(1, 0, 1, 0, 0, 0), a.Stats);
        Assert.Equal(new SubscriberStats(1, 1, 0, 0, 0, 0), b.Stats);

        // Leaving from inside a filter (a control operation between the filters and the window): the grace
        // period does not wait for a producer that is only running filters, and nothing reaches the queue.
        var leaves = new CountingFilter(Make("true"), () => p.Unsubscribe(b));
        p.SetFilter(a, leaves);
        Assert.Equal(1, Syscall(ctx, 1));          // for a alone: b left before the window
        Assert.Equal(new SubscriberStats(2, 1, 1, 0, 0, 0), a.Stats);
        Assert.Equal(1, b.Stats.Produced);
        Assert.Single(Drain(b));
        Assert.False(await b.WaitToReadAsync());   // b's stream has ended
        AssertBalanced(a);
        AssertBalanced(b);
    }

    [Theory]
    [InlineData(EngineKind.Jit)]
    [InlineData(EngineKind.Interpreter)]
    public void ARecordNoFilterCanMatchIsDroppedWithoutRunningOne(EngineKind engine)
    {
        var p = new AuditPipeline();
        var exec = new CountingFilter(Make("syscall in (execve, clone)", engine));
        var failed = new CountingFilter(Make("type == syscall && !success", engine));
        var execs = p.Subscribe("exec", exec);
        var ctx = p.CreateContext();
        int uninstrumented = 0;
        p.UninstrumentedSyscall += (_, _) => uninstrumented++;

        Assert.Equal(0, Syscall(ctx, 0));          // read: execve's filter cannot match it
        Assert.Equal(0, exec.Runs);
        Assert.Equal(1, Syscall(ctx, 59));         // execve: it can, and does
        Assert.Equal(1, exec.Runs);
        ctx.Open(AuditArch.X86_64, 1, 100, Creds); // uninstrumented and dropped at open: still reported
        Assert.Equal(0, ctx.Close(0, true, 0));
        Assert.Equal(1, uninstrumented);
        Assert.Equal(1, exec.Runs);
        Assert.Equal(new SubscriberStats(3, 1, 2, 0, 0, 0), execs.Stats with { UpstreamLost = 0 });

        // A second subscriber whose filter depends on more than the syscall: every record runs it.
        var failures = p.Subscribe("failed", failed);
        Assert.Equal(0, Syscall(ctx, 0));
        Assert.Equal(1, Syscall(ctx, 0, exit: -13));
        Assert.Equal(2, failed.Runs);
        Assert.Equal(1, exec.Runs);                // its own table rules read out: skipped (ASubscriberWhose...)

        // The snapshot changes between open and close. A record no filter could match at its open was
        // decided then; any other is decided by the filters of its close.
        p.Unsubscribe(failures);
        ctx.Open(AuditArch.X86_64, 0, 100, Creds);
        ctx.SubmitArguments(0);
        p.SetFilter(execs, Make("true", engine));
        Assert.Equal(0, ctx.Close(0, true, 0));
        ctx.Open(AuditArch.X86_64, 2, 100, Creds);
        var late = p.Subscribe("late", Make("true", engine));
        p.SetFilter(execs, exec);
        ctx.SubmitArguments(0);
        Assert.Equal(1, ctx.Close(0, true, 0));
        Assert.Equal(1, late.Stats.Produced);
        foreach (var s in new[] { execs, failures, late }) AssertBalanced(s);
        Assert.Equal(7, execs.Stats.Produced);
    }

    [Theory]
    [InlineData(EngineKind.Jit)]
    [InlineData(EngineKind.Interpreter)]
    public void EachRecordCarriesTheVerdictAndKeyOfTheFilterThatDecidedIt(EngineKind engine)
    {
        var p = new AuditPipeline();
        var ids = p.Subscribe("ids", Make("always \"exec\": syscall == execve\nalways \"fail\": exit < 0\nalways: syscall == 2", engine));
        var ctx = p.CreateContext();
        Syscall(ctx, 59);                 // rule 1
        Syscall(ctx, 0, exit: -13);       // rule 2
        Syscall(ctx, 2);                  // rule 3, no key
        Syscall(ctx, 0);                  // none
        p.SetFilter(ids, Make("always \"later\": true", engine));
        Syscall(ctx, 59);                 // the new filter's only rule
        ctx.Signal(11, 0);
        var events = Drain(ids);
        Assert.Equal([(1u, "exec"), (2u, "fail"), (3u, ""), (1u, "later"), (1u, "later")],
            events.Select(e => (e.Verdict, e.Key)));
        // A record queued before a swap keeps the key of the filter that decided it.
        ctx.Open(AuditArch.X86_64, 59);
        ctx.SubmitArguments(0);
        Assert.Equal(1, ctx.Close(0, true, 0));
        p.SetFilter(ids, Make("always \"newer\": true", engine));
        Assert.True(ids.TryRead(out var kept));
        Assert.Equal((1u, "later"), (kept.Verdict, kept.Key));
    }

    /// <summary>The ways a record can be open: dropped at open, decided at close, its process not audited.</summary>
    public enum OpenKind { DroppedAtOpen, DecidedAtClose, Unaudited }

    [Theory]
    [InlineData(OpenKind.DroppedAtOpen)]
    [InlineData(OpenKind.DecidedAtClose)]
    [InlineData(OpenKind.Unaudited)]
    public void MisuseThrowsAndLeavesTheContextUsable(OpenKind kind)
    {
        var p = new AuditPipeline();
        var sub = p.Subscribe("s", Make(kind == OpenKind.DroppedAtOpen ? "syscall == execve" : "true"));
        if (kind == OpenKind.Unaudited) p.SetAuditing(1, false);
        var ctx = p.CreateContext();
        int uninstrumented = 0;
        p.UninstrumentedSyscall += (_, _) => uninstrumented++;
        Assert.Throws<InvalidOperationException>(() => ctx.Close(0, true, 0));
        Assert.Throws<InvalidOperationException>(() => ctx.SubmitArguments(1));
        int queued = kind == OpenKind.DecidedAtClose ? 1 : 0;
        for (int round = 0; round < 2; round++)
        {
            Assert.Equal(kind != OpenKind.Unaudited, ctx.Open(AuditArch.X86_64, 1, 1, Creds));
            Assert.True(ctx.IsOpen);
            Assert.Throws<InvalidOperationException>(() => ctx.Open(AuditArch.X86_64, 2, 1, Creds));
            Assert.Throws<InvalidOperationException>(() => ctx.Open(AuditArch.X86_64, 2));
            Assert.Throws<InvalidOperationException>(() => ctx.Signal(1, 11, Creds, 0));
            Assert.Throws<InvalidOperationException>(() => ctx.CommitRecord(new byte[RecordLayout.HeaderSize], 0));
            if (round == 0) // the second round closes without arguments
            {
                ctx.SubmitArguments(1);
                var twice = Assert.Throws<InvalidOperationException>(() => ctx.SubmitArguments(2));
                Assert.Contains("already submitted", twice.Message);
            }
            Assert.Equal(queued, ctx.Close(0, true, 0));
            Assert.False(ctx.IsOpen);
            Assert.Throws<InvalidOperationException>(() => ctx.Close(0, true, 0));
            Assert.Throws<InvalidOperationException>(() => ctx.SubmitArguments(1));
        }
        // Closed without arguments: reported unless the process is not audited.
        Assert.Equal(kind == OpenKind.Unaudited ? 0 : 1, uninstrumented);
        Assert.Equal(kind == OpenKind.Unaudited ? 0 : 2, ctx.Committed);
        Assert.Equal(kind == OpenKind.Unaudited ? 2 : 0, ctx.SkippedByProcess);
        Assert.Equal(kind == OpenKind.Unaudited ? 0 : 2, sub.Stats.Produced);
        Assert.Equal(queued * 2, sub.Stats.Delivered);
        Assert.Throws<ArgumentException>(() => ctx.CommitRecord(new byte[10], 0));
    }

    [Fact]
    public void SteadyStateAllocatesNothing()
    {
        var p = new AuditPipeline();
        var drop = p.Subscribe("drop", Make("syscall == 59"));
        var keep = p.Subscribe("keep", Make("syscall == 1"), capacity: 64);
        var ctx = p.CreateContext();
        for (int i = 0; i < 1000; i++) { Syscall(ctx, 0); Syscall(ctx, 1); keep.TryRead(out _); keep.TryRead(out _); }
        Allocations.AssertNoneIn(() =>
        {
            for (int i = 0; i < 10_000; i++)
            {
                Syscall(ctx, 0);
                Syscall(ctx, 1);
                while (keep.TryRead(out _)) { }
            }
        }, "10,000 records");
        AssertBalanced(drop);
        AssertBalanced(keep);
    }
}
