using System.Text;
using Filter.Audit.Formats;
using Filter.Tests.Engines;
using Filter.VM;
using Xunit;

namespace Filter.Tests.Auditd;

/// <summary>
/// The kernel's own verdicts (Data/oracle, see its README): for each case, the events a filter selects in
/// a real auditd log must be exactly those whose SYSCALL record the kernel keyed <c>case_&lt;id&gt;</c>.
/// Runs on every engine.
/// </summary>
public class AuditdOracleTests
{
    private static readonly string OracleDir = Path.Combine(AppContext.BaseDirectory, "Data", "oracle");

    public static IEnumerable<object[]> Cases() => FilterEngines.Cross(
        File.ReadLines(Path.Combine(OracleDir, "cases.tsv"))
            .Skip(1)
            .Where(line => line.Length > 0 && !line.StartsWith('#'))
            .Select(line => line.Split('\t'))
            .Select(fields => new object[] { fields[0], fields[2] }));

    [Theory]
    [MemberData(nameof(Cases))]
    public void SelectsExactlyTheEventsTheKernelSelected(FilterEngine engine, string id, string filter)
    {
        var matches = engine.Prepare(TestPrograms.Compile(filter));
        string path = Path.Combine(OracleDir, "logs", $"case_{id}.log");
        byte[] kernelKey = Encoding.ASCII.GetBytes($" key=\"case_{id}\"");

        var expected = new HashSet<AuditdEventId>();
        var selected = new HashSet<AuditdEventId>();
        int events = 0, syscalls = 0;
        var builder = new RecordBuilder();
        using var reader = AuditdReader.OpenFiles([path]);
        ReadResult result;
        while ((result = reader.Read(builder)) == ReadResult.Record)
        {
            events++;
            Assert.True(reader.HasSyscall, $"event {reader.EventId} has no SYSCALL record");
            syscalls++;
            for (int i = 0; i < reader.LineCount; i++)
            {
                var line = reader.GetLine(i);
                if (line.StartsWith("type=SYSCALL "u8) && line.IndexOf(kernelKey) >= 0) expected.Add(reader.EventId);
            }
            if (matches(builder.ToArray())) selected.Add(reader.EventId);
        }
        Assert.True(result == ReadResult.End, reader.Error.ToString());

        var missing = expected.Except(selected).Take(5).ToList();
        var extra = selected.Except(expected).Take(5).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0,
            $"{id}: missing {string.Join(", ", missing)}; extra {string.Join(", ", extra)}");
        Assert.NotEmpty(expected);
        Assert.Equal(syscalls, events);
        Assert.Equal(File.ReadLines(path).Count(l => l.StartsWith("type=SYSCALL ")), events);
    }
}
