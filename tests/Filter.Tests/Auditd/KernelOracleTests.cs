using System.Text;
using Filter.Audit.Formats;
using Filter.Tests.Engines;
using Filter.VM;
using Xunit;

namespace Filter.Tests.Auditd;

/// <summary>
/// The kernel's own verdicts: real auditd logs in which the Linux kernel keyed every event its rule
/// selected. <c>Data/oracle</c> is the public set (see its README); <c>Data/oracle-local</c> our own cases,
/// made the same way on this kind of machine by tools/oracle/gen.sh. For each case, the events a filter
/// selects must be exactly those whose SYSCALL record the kernel keyed <c>case_&lt;id&gt;</c>, on every
/// engine. The local set also pins the kernel's quirks: the naive translation of each quirky rule
/// (naive.tsv) must <i>disagree</i> with the kernel, so the logs really exercise what spec/auditctl.md says.
/// </summary>
public class KernelOracleTests
{
    private const string Public = "oracle", Local = "oracle-local";

    private static string Dir(string set) => Path.Combine(AppContext.BaseDirectory, "Data", set);

    private static IEnumerable<string[]> Rows(string set, string file) =>
        File.ReadLines(Path.Combine(Dir(set), file))
            .Skip(1)
            .Where(line => line.Length > 0 && !line.StartsWith('#'))
            .Select(line => line.Split('\t'));

    public static IEnumerable<object[]> Cases() => FilterEngines.Cross(
        new[] { Public, Local }.SelectMany(set => Rows(set, "cases.tsv").Select(f => new object[] { set, f[0], f[2] })));

    public static IEnumerable<object[]> NaiveCases() =>
        FilterEngines.Cross(Rows(Local, "naive.tsv").Select(f => new object[] { Local, f[0], f[1] }));

    public static IEnumerable<object[]> Logs() =>
        FilterEngines.Cross(Rows(Local, "cases.tsv").Select(f => new object[] { Local, f[0] }));

    private static string LogPath(string set, string id) => Path.Combine(Dir(set), "logs", $"case_{id}.log");

    /// <summary>What the kernel selected (SYSCALL keyed case_&lt;id&gt;) and what the filter selects.</summary>
    private sealed record Verdicts(HashSet<AuditdEventId> Kernel, HashSet<AuditdEventId> Filter, int Events);

    private static Verdicts Run(FilterEngine engine, string set, string id, string filter)
    {
        var matches = engine.Prepare(TestPrograms.Compile(filter));
        byte[] kernelKey = Encoding.ASCII.GetBytes($" key=\"case_{id}\"");
        var kernel = new HashSet<AuditdEventId>();
        var selected = new HashSet<AuditdEventId>();
        int events = 0;
        var builder = new RecordBuilder();
        using var reader = AuditdReader.OpenFiles([LogPath(set, id)]);
        ReadResult result;
        while ((result = reader.Read(builder)) == ReadResult.Record)
        {
            events++;
            Assert.True(reader.HasSyscall, $"event {reader.EventId} has no SYSCALL record");
            for (int i = 0; i < reader.LineCount; i++)
            {
                var line = reader.GetLine(i);
                if (line.StartsWith("type=SYSCALL "u8) && line.IndexOf(kernelKey) >= 0) kernel.Add(reader.EventId);
            }
            if (matches(builder.ToArray())) selected.Add(reader.EventId);
        }
        Assert.True(result == ReadResult.End, reader.Error?.Render());
        return new Verdicts(kernel, selected, events);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void SelectsExactlyTheEventsTheKernelSelected(FilterEngine engine, string set, string id, string filter)
    {
        var v = Run(engine, set, id, filter);
        var missing = v.Kernel.Except(v.Filter).Take(5).ToList();
        var extra = v.Filter.Except(v.Kernel).Take(5).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0,
            $"{id}: missing {string.Join(", ", missing)}; extra {string.Join(", ", extra)}");
        Assert.NotEmpty(v.Kernel);
        Assert.True(v.Kernel.Count < v.Events, $"{id}: the kernel selected every event: the case proves little");
        Assert.Equal(File.ReadLines(LogPath(set, id)).Count(l => l.StartsWith("type=SYSCALL ")), v.Events);
    }

    [Theory]
    [MemberData(nameof(NaiveCases))]
    public void NaiveTranslationsDisagreeWithTheKernel(FilterEngine engine, string set, string id, string naiveFilter)
    {
        var v = Run(engine, set, id, naiveFilter);
        Assert.False(v.Kernel.SetEquals(v.Filter),
            $"{id}: '{naiveFilter}' agrees with the kernel on this log, so the log does not show the quirk");
    }

    /// <summary>
    /// spec/auditctl.md translates "the record has a return value" (the kernel's exit/success tests are
    /// false without one: exit_group, exit) as <c>success || exit != 0</c>; on every real record it must
    /// agree with the reader, which sees whether <c>exit=</c> is there.
    /// </summary>
    [Theory]
    [MemberData(nameof(Logs))]
    public void SuccessOrNonZeroExitMeansTheRecordHasAReturnValue(FilterEngine engine, string set, string id)
    {
        var hasReturn = engine.Prepare(TestPrograms.Compile("success || exit != 0"));
        var builder = new RecordBuilder();
        using var reader = AuditdReader.OpenFiles([LogPath(set, id)]);
        int withoutReturn = 0;
        while (reader.Read(builder) == ReadResult.Record)
        {
            Assert.True(reader.HasExit == hasReturn(builder.ToArray()), $"{id}: event {reader.EventId}");
            if (!reader.HasExit) withoutReturn++;
        }
        Assert.True(withoutReturn > 0, $"{id}: no exit_group/exit record in the log");
    }

    [Fact]
    public void TheKernelLostNoRecordWhileTheLogsWereMade()
    {
        var rows = Rows(Local, "summary.tsv").ToList();
        Assert.Equal(Rows(Local, "cases.tsv").Select(f => f[0]), rows.Select(f => f[0]));
        foreach (var f in rows) Assert.True(f[4] == f[5], $"{f[0]}: lost {f[4]} -> {f[5]}");
    }
}
