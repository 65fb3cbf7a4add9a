using Xunit;
using Filter.Audit.Pipeline;
using Filter.VM;
using static Filter.Tests.Pipeline.PipelineTestKit;

namespace Filter.Tests.Pipeline;

public class SwitchesTests
{
    [Fact]
    public void AnUninstrumentedSyscallIsReportedOncePerNumberAndCountedEveryTime()
    {
        var p = new AuditPipeline();
        var s = p.Subscribe("all", Make("true"));
        var reports = new List<(uint, uint)>();
        p.UninstrumentedSyscall += (arch, nr) => reports.Add((arch, nr));
        var ctx = p.CreateContext();
        for (int i = 0; i < 3; i++)
        {
            ctx.Open(AuditArch.X86_64, 318, 1, Creds);        // getrandom, never instrumented
            ctx.Close(16, true, 0);
        }
        ctx.Open(AuditArch.Aarch64, 318, 1, Creds);           // another arch: another syscall
        ctx.Close(0, true, 0);
        ctx.Open(AuditArch.X86_64, 5000, 1, Creds);           // outside the bitmap
        ctx.Close(0, true, 0);
        ctx.Open(AuditArch.X86_64, 5000, 1, Creds);
        ctx.Close(0, true, 0);
        Syscall(ctx, 1);                                      // instrumented: not reported
        Assert.Equal([(AuditArch.X86_64, 318u), (AuditArch.Aarch64, 318u), (AuditArch.X86_64, 5000u)], reports);
        Assert.Equal(6, p.UninstrumentedCalls);
        Assert.Equal(7, s.Stats.Delivered);                   // still committed, with zero arguments
    }

    [Fact]
    public void AuditingCanBeSwitchedOffForAProcess()
    {
        var p = new AuditPipeline();
        var s = p.Subscribe("all", Make("true"));
        var ctx = p.CreateContext();
        p.SetAuditing(77, false);
        p.SetAuditing(5_000_000, false);
        Assert.False(p.IsAudited(77));
        Assert.True(p.IsAudited(78));
        Assert.False(ctx.Open(AuditArch.X86_64, 1, 77, Creds));
        ctx.SubmitArguments(1);
        Assert.Equal(0, ctx.Close(0, true, 0));
        Assert.Equal(0, Syscall(ctx, 1, pid: 5_000_000));
        Assert.Equal(0, ctx.Signal(77, 11, Creds, 0));
        Assert.Equal(1, Syscall(ctx, 1, pid: 78));
        Assert.Equal(3, ctx.SkippedByProcess);
        Assert.Equal(1, s.Stats.Produced);                    // switched-off records are never produced
        p.SetAuditing(77, true);
        Assert.Equal(1, Syscall(ctx, 1, pid: 77));
        p.SetAuditing(5_000_000, true);
        Assert.Equal(1, Syscall(ctx, 1, pid: 5_000_000));
    }

    [Fact]
    public void TheSwitchReachesAContextWhoseTaskIsAlreadySet()
    {
        // A context looks its task's switch up once per snapshot; switching must still take effect at its
        // next open, for its current pid and for one it is given later.
        var p = new AuditPipeline();
        var s = p.Subscribe("all", Make("true"));
        var ctx = p.CreateContext();
        ctx.SetTask(77, Creds);
        Assert.True(ctx.Open(AuditArch.X86_64, 1));
        ctx.Close(0, true, 0);
        p.SetAuditing(77, false);
        Assert.False(ctx.Open(AuditArch.X86_64, 1));
        Assert.Equal(0, ctx.Close(0, true, 0));
        Assert.Equal(0, ctx.Signal(11, 0));
        ctx.SetTask(78, Creds);
        Assert.True(ctx.Open(AuditArch.X86_64, 1));
        ctx.Close(0, true, 0);
        ctx.SetTask(77, Creds);
        Assert.False(ctx.Open(AuditArch.X86_64, 1));
        ctx.Close(0, true, 0);
        p.SetAuditing(77, true);
        Assert.True(ctx.Open(AuditArch.X86_64, 1));
        ctx.Close(0, true, 0);
        Assert.Equal(3, ctx.SkippedByProcess);
        Assert.Equal(3, s.Stats.Produced);
    }

    [Fact]
    public void TheSwitchIsPerPidAcrossBlocksOfPids()
    {
        // The pipeline keeps a summary bit per 4,096 pids in front of the pid bitmap: switching one pid
        // back on must not switch on its neighbours, and switching the last one back on clears the block.
        var p = new AuditPipeline();
        uint[] off = [0, 4095, 4096, 8191, 4_194_303];
        foreach (uint pid in off) p.SetAuditing(pid, false);
        foreach (uint pid in off) Assert.False(p.IsAudited(pid), $"pid {pid}");
        foreach (uint pid in new uint[] { 1, 4094, 4097, 8190, 8192, 4_194_302, 4_194_304 }) Assert.True(p.IsAudited(pid), $"pid {pid}");
        p.SetAuditing(4096, true);
        Assert.True(p.IsAudited(4096));
        Assert.False(p.IsAudited(8191));                      // same block, still off
        p.SetAuditing(8191, true);
        Assert.True(p.IsAudited(8191));
        Assert.False(p.IsAudited(4095));                      // the block before, untouched
        foreach (uint pid in off) p.SetAuditing(pid, true);
        foreach (uint pid in off) Assert.True(p.IsAudited(pid), $"pid {pid}");
    }

    [Theory]
    [InlineData("type == signal && sig == SIGSEGV", new[] { 2 })]
    [InlineData("type == signal && sig != SIGALRM", new[] { 2, 4 })]
    [InlineData("type != signal", new[] { 1 })]
    [InlineData("type == syscall", new[] { 1 })]
    [InlineData("type in (signal)", new[] { 2, 3, 4 })]
    [InlineData("type == 1 && sig in (SIGSEGV, SIGBUS)", new[] { 2, 4 })]
    public void SignalsAreRecordsFiltersCanSelect(string filter, int[] serials)
    {
        var p = new AuditPipeline();
        var s = p.Subscribe("s", Make(filter));
        var all = p.Subscribe("all", Make("true"));
        var ctx = p.CreateContext();
        Syscall(ctx, 0, pid: 9);                       // 1
        ctx.Signal(9, 11, Creds, 5);                   // 2 SIGSEGV
        ctx.Signal(9, 14, Creds, 6);                   // 3 SIGALRM
        ctx.Signal(9, 7, Creds, 7);                    // 4 SIGBUS
        Assert.Equal(serials.Select(i => (ulong)i), Drain(s).Select(e => e.Serial));
        var sig = Drain(all)[1].Record;
        Assert.Equal(RecordLayout.EventTypeSignal, sig.Bytes[RecordLayout.Type]);
        Assert.Equal(11u, sig.U32(RecordLayout.Sig));
        Assert.Equal(9u, sig.U32(RecordLayout.Pid));
        Assert.Equal(0u, sig.Syscall);
    }
}

public class EventTypeNameTests
{
    [Theory]
    [InlineData("signal == 1", DiagnosticCode.MisplacedName, "'signal' is an event type name; compare it with the type field (type == signal)")]
    [InlineData("type == sigal", DiagnosticCode.UnknownName, "unknown event type 'sigal' (did you mean 'signal'?)")]
    [InlineData("type in (signal, bogus)", DiagnosticCode.UnknownName, "unknown event type 'bogus'")]
    [InlineData("type < signal", DiagnosticCode.OperatorNotApplicable, "type names can only be compared with ==, != or in, not '<'")]
    public void EventTypeNamesAreCheckedLikeArchNames(string source, DiagnosticCode code, string message)
    {
        var c = Filter.Compiler.FilterCompiler.Compile(source);
        var d = Assert.Single(c.Diagnostics);
        Assert.Equal((code, message), (d.Code, d.Message));
    }

    [Fact]
    public void TypeNamesComeFirstBesideType()
    {
        // Beside type, `syscall` is the event type, not the syscall field.
        var f = PipelineTestKit.Make("type == syscall");
        var b = new RecordBuilder();
        b.SetU32(RecordLayout.Syscall, 5);
        Assert.NotEqual(0u, f.Run(new Record(b.Build())));
        Assert.Equal(0u, PipelineTestKit.Make("type == signal").Run(new Record(b.Build())));
        Assert.NotEqual(0u, PipelineTestKit.Make("type not in (signal)").Run(new Record(b.Build())));
    }
}
