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
        // Every size class of the copy (1-3, 4-7, 8-16, 17-32, 33-64 bytes, longer), and the field limits;
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
    public void MisuseThrowsAndLeavesTheContextUsable()
    {
        var p = new AuditPipeline();
        var ctx = p.CreateContext();
        Assert.Throws<InvalidOperationException>(() => ctx.Close(0, true, 0));
        Assert.Throws<InvalidOperationException>(() => ctx.SubmitArguments(1));
        ctx.Open(AuditArch.X86_64, 1, 1, Creds);
        Assert.Throws<InvalidOperationException>(() => ctx.Open(AuditArch.X86_64, 2, 1, Creds));
        Assert.Throws<InvalidOperationException>(() => ctx.Signal(1, 11, Creds, 0));
        Assert.Throws<InvalidOperationException>(() => ctx.CommitRecord(new byte[RecordLayout.HeaderSize], 0));
        ctx.SubmitArguments(1);
        Assert.Throws<InvalidOperationException>(() => ctx.SubmitArguments(2));
        ctx.Close(0, true, 0);
        Assert.Equal(1, ctx.Committed);
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
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            Syscall(ctx, 0);
            Syscall(ctx, 1);
            while (keep.TryRead(out _)) { }
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        AssertBalanced(drop);
        AssertBalanced(keep);
    }
}
