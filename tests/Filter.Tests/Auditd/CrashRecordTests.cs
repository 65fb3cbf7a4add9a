using System.Text;
using System.Text.RegularExpressions;
using Filter.Audit.Formats;
using Filter.Audit.Live;
using Filter.Audit.Pipeline;
using Filter.Tests.Engines;
using Filter.VM;
using Xunit;

namespace Filter.Tests.Auditd;

/// <summary>
/// One meaning for crash records (ANOM_ABEND), recorded and live: on the IDS workload log (real ANOM_ABEND
/// records of services killed by SIGSEGV), `filterc run --format auditd`, the auditd reader, the pipeline
/// replay (<see cref="AuditdReplay"/>) and the live source's decoding (<see cref="LiveEventDecoder"/> over
/// the same records as the kernel sends them) select the same events, with the same record bytes.
/// </summary>
public partial class CrashRecordTests
{
    private static string Log => Path.Combine(AppContext.BaseDirectory, "Data", "ids", "workload.log");

    [GeneratedRegex(@"^(?:node=\S+ )?type=(\S+) msg=audit\(([^)]*)\): ([^\x1d]*)")]
    private static partial Regex LogLine();

    public static TheoryData<string> Filters => new()
    {
        "type == signal && sig == 11",
        "type == signal && sig == SIGSEGV && exe startswith \"/tmp/\" && uid == 0",
        "type == signal",
        "sig != 0",
        "pid == 22224",                         // the crashing service's syscalls and its crash record
        "syscall == read && success",           // syscall records agree too
        "true",
    };

    /// <summary>The same filter, over the four paths: each gives event id → record.</summary>
    [Theory]
    [MemberData(nameof(Filters))]
    public void RunReplayAndLiveSelectTheSameEvents(string filter)
    {
        var program = TestPrograms.CompileAndVerify(filter);
        var reader = ByReader(program);
        var replay = ByReplay(program);
        var live = ByLive(program);
        var run = ByRunCommand(filter);

        Assert.Equal(reader.Keys.Order(), run.Order());
        Assert.Equal(reader.Keys.Order(), replay.Keys.Order());
        Assert.Equal(reader.Keys.Order(), live.Keys.Order());
        foreach (var (id, record) in reader)
        {
            Assert.Equal(record, replay[id]);
            Assert.Equal(record, live[id]);
        }
        Assert.NotEmpty(reader);
    }

    [Fact]
    public void SigsegvSelectsExactlyTheAnomAbendEventsWithSig11()
    {
        var expected = File.ReadLines(Log)
            .Where(l => l.StartsWith("type=ANOM_ABEND ") && l.Contains(" sig=11 "))
            .Select(l => LogLine().Match(l).Groups[2].Value).Order().ToList();
        Assert.Equal(2, expected.Count);
        Assert.Equal(expected, RunCommandIds("type == signal && sig == 11").Order());
        var program = TestPrograms.CompileAndVerify("type == signal && sig == SIGSEGV");
        Assert.Equal(expected, ByReader(program).Keys.Select(id => id.ToString()).Order());
        Assert.Equal(expected, ByLive(program).Keys.Select(id => id.ToString()).Order());
        var record = new Record(ByReader(program).Values.First());
        Assert.Equal((RecordLayout.EventTypeSignal, 11u, 0u, 0u), (record.Bytes[RecordLayout.Type], record.U32(RecordLayout.Sig), record.Arch, record.Syscall));
    }

    private static Dictionary<AuditdEventId, byte[]> ByReader(VerifiedProgram program)
    {
        var selected = new Dictionary<AuditdEventId, byte[]>();
        using var reader = new AuditdReader([AuditdSource.File(Log)]) { Fields = program.FieldsRead };
        var builder = new RecordBuilder();
        ReadResult result;
        while ((result = reader.Read(builder)) == ReadResult.Record)
            if ((reader.HasRecord || !program.ReadsRecord) && Interpreter.Run(program, new Record(builder.Build())) != 0)
                selected.Add(reader.EventId, builder.ToArray());
        Assert.Equal(ReadResult.End, result);
        return selected;
    }

    /// <summary>Through a pipeline: the records committed for each event, keyed by the event's time and matched back to its id.</summary>
    private static Dictionary<AuditdEventId, byte[]> ByReplay(VerifiedProgram program)
    {
        var pipeline = new AuditPipeline();
        var sub = pipeline.Subscribe("test", RecordFilters.Create(program, EngineKind.Interpreter), 1 << 12);
        using (var reader = new AuditdReader([AuditdSource.File(Log)]) { Fields = program.FieldsRead })
        {
            var result = AuditdReplay.Run(reader, pipeline.CreateContext());
            Assert.Equal(0, result.InputErrors);
        }
        pipeline.Complete();
        var delivered = new List<(long Timestamp, byte[] Record)>();
        while (sub.TryRead(out var item)) delivered.Add((item.Timestamp, item.Bytes.ToArray()));
        // The reader's records, in order, with their timestamps: the replay must deliver exactly the matching ones.
        var byReader = ByReader(program);
        var ids = byReader.Keys.ToList();
        Assert.Equal(ids.Select(id => (long)id.Seconds * 1000 + id.Millis), delivered.Select(d => d.Timestamp));
        return ids.Zip(delivered, (id, d) => (id, d.Record)).ToDictionary(p => p.id, p => p.Record);
    }

    /// <summary>The log's records as the kernel sends them (type number, <c>audit(ID): TEXT</c> without the ENRICHED tail), assembled and decoded live.</summary>
    private static Dictionary<AuditdEventId, byte[]> ByLive(VerifiedProgram program)
    {
        var assembler = new EventAssembler(TimeSpan.FromMilliseconds(250));
        var events = new List<LiveEvent>();
        foreach (var line in File.ReadLines(Log))
        {
            var m = LogLine().Match(line);
            Assert.True(m.Success, line);
            Assert.True(RecordTypes.TryParse(m.Groups[1].Value, out ushort type), m.Groups[1].Value);
            assembler.Add(type, Encoding.UTF8.GetBytes($"audit({m.Groups[2].Value}): {m.Groups[3].Value}"), 0, events);
        }
        assembler.Flush(events);
        var decoder = new LiveEventDecoder(program.FieldsRead);
        var selected = new Dictionary<AuditdEventId, byte[]>();
        foreach (var e in events)
        {
            var kind = decoder.Decode(e, out var record);
            Assert.NotEqual(LiveEventKind.Malformed, kind);
            if (kind == LiveEventKind.NoRecord)
            {
                if (!program.ReadsRecord) selected.Add(e.Id, new RecordBuilder().ToArray());
                continue;
            }
            if (Interpreter.Run(program, new Record(record)) != 0) selected.Add(e.Id, record.ToArray());
        }
        return selected;
    }

    /// <summary>`filterc run --format auditd --filter F LOG`: the ids of the events it prints.</summary>
    private static List<AuditdEventId> ByRunCommand(string filter) =>
        [.. RunCommandIds(filter).Select(s => Parse(s))];

    private static List<string> RunCommandIds(string filter)
    {
        var stdout = new MemoryStream();
        var stderr = new StringWriter();
        int code = Filter.Cli.Program.Run(["run", "--format", "auditd", "--filter", filter, Log], () => new MemoryStream(), stdout, stderr);
        Assert.True(code == 0, stderr.ToString());
        return [.. Encoding.UTF8.GetString(stdout.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => LogLine().Match(l).Groups[2].Value).Distinct()];
    }

    private static AuditdEventId Parse(string id)
    {
        var parts = id.Split('.', ':');
        return new AuditdEventId(ulong.Parse(parts[0]), uint.Parse(parts[1]), ulong.Parse(parts[2]));
    }
}
