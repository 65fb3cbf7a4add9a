using Xunit;
using Filter.Audit.Pipeline;
using Filter.Tests.Engines;
using Filter.VM;

namespace Filter.Tests.Pipeline;

internal static class PipelineTestKit
{
    public static IRecordFilter Make(string source, EngineKind engine = EngineKind.Jit) =>
        RecordFilters.Create(TestPrograms.CompileAndVerify(source), engine);

    public static readonly AuditCredentials Creds = new(Ppid: 1, Auid: 1000, Uid: 1000, Gid: 1000, Euid: 1000);

    /// <summary>One instrumented syscall: open, arguments, close.</summary>
    public static int Syscall(AuditContext ctx, uint nr, uint pid = 100, ulong a0 = 0, long exit = 0, long timestamp = 0)
    {
        ctx.Open(AuditArch.X86_64, nr, pid, Creds);
        ctx.SubmitArguments(a0);
        return ctx.Close(exit, exit >= 0, timestamp);
    }

    public static List<AuditEvent> Drain(Subscription s)
    {
        var list = new List<AuditEvent>();
        while (s.TryRead(out var e))
            list.Add(e);   // a record's bytes stay readable until its slot is reused: these tests' queues outnumber their records
        return list;
    }

    public static void AssertBalanced(Subscription s)
    {
        var st = s.Stats;
        Assert.True(st.Balanced, $"{s}: produced {st.Produced} != delivered {st.Delivered} + filtered {st.FilteredOut} + lost {st.Lost}");
    }
}
