using Filter.Audit.Formats;
using Filter.Verifier;
using Filter.VM;

namespace Filter.Cli;

/// <summary>
/// Runs a filter over opened inputs (<see cref="RunInputs"/>) and hands each match to a sink: JSON-lines
/// inputs record by record, each run of consecutive auditd inputs as one log (rotated files, oldest first:
/// events continue across them). Streaming inputs are flushed to before every wait and, for auditd logs,
/// hand on their held events after a quiet second (spec/auditd.md, "Events").
/// </summary>
internal sealed class Matcher(CliIO io, IRecordFilter filter, MatchSink sink, bool lenient)
{
    /// <summary>How long a stream is quiet before the events held are taken to be complete.</summary>
    public static readonly TimeSpan QuietAfter = TimeSpan.FromSeconds(1);

    // What a field-free filter (`true`) sees for an event without a record: every field 0 or empty.
    private static readonly byte[] NoRecord = new RecordBuilder().ToArray();

    private readonly RecordBuilder _builder = new();
    private long _skipped;

    /// <summary>The filter; may be replaced between events (the plugin reloads its policy on SIGHUP).</summary>
    public IRecordFilter Filter { get; set; } = filter;

    /// <summary>Called between events: the plugin's chance to reload.</summary>
    public Action? BetweenEvents { get; set; }

    /// <summary>
    /// Decode only the fields the filter reads (true), or all of them (false: a filter that may be replaced
    /// by one reading other fields).
    /// </summary>
    public bool FieldsOfFilterOnly { get; init; } = true;

    /// <summary>Whether the sink prints what it matched (else the auditd reader keeps no lines).</summary>
    public bool NeedsLines { get; init; } = true;

    /// <summary>Only audit events in this time range (run --start/--end); JSON-lines inputs are then refused.</summary>
    public EventTimes? Times { get; init; }

    /// <summary>How a large auditd file may be run in parallel chunks (run --threads); null: never.</summary>
    public Parallelism? Parallel { get; init; }

    public int Run(IReadOnlyList<RunInput> inputs)
    {
        int code = CliIO.Ok;
        Diagnostic? error = null;
        int next = 0;
        while (next < inputs.Count && code == CliIO.Ok && sink.Output.Error is null)
        {
            var input = inputs[next];
            if (input.Format == InputFormat.JsonLines)
            {
                next++;
                (code, error) = JsonLines(input);
                continue;
            }
            // Auditd inputs and empty ones (no format) read on as one log.
            int end = next;
            while (end < inputs.Count && inputs[end].Format != InputFormat.JsonLines) end++;
            var group = inputs.Skip(next).Take(end - next).ToList();
            (code, error) = ParallelRun.Open(this, group) is { } parallel ? parallel.Run() : Auditd(group);
            next = end;
        }
        foreach (var input in inputs.Skip(next)) input.Content.Dispose();
        if (code == CliIO.Ok && sink.Output.Error is null) sink.End();
        sink.Output.Flush();
        if (_skipped > 0) io.Stderr.WriteLine($"warning: skipped {_skipped} malformed line{(_skipped == 1 ? "" : "s")}");
        if (error is not null) CliDiagnostics.Write(io, DiagnosticsFormat.Text, [error]);
        if (sink.Output.Error is { } written && !sink.Output.ReaderGone)
            return io.Fail(CliIO.InputError, CliIO.CannotWrite("filterc", written));
        return code;
    }

    private (int, Diagnostic?) JsonLines(RunInput input)
    {
        using var content = input.Content;
        if (Times is not null)
            return (CliIO.UsageError, CliIO.Problem(DiagnosticCode.BadCommandLine,
                $"--start and --end select events of an audit log by their time, and '{input.Name}' is JSON lines"));
        using var reader = new JsonLinesReader(content, input.Name) { Fields = FieldsOfFilterOnly ? Filter.Program.FieldsRead : null };
        while (sink.Output.Error is null)
        {
            var result = reader.Read(_builder);
            if (result == ReadResult.End) break;
            if (result == ReadResult.Error)
            {
                if (!Skip(reader.Error!)) return (CliIO.InputError, reader.Error);
                continue;
            }
            uint verdict = Filter.Run(new Record(_builder.Build()));
            if (verdict != 0) sink.Record(reader.Line, reader.LineNumber, new Record(_builder.Build()), Key(verdict));
            BetweenEvents?.Invoke();
        }
        return (CliIO.Ok, null);
    }

    private (int, Diagnostic?) Auditd(List<RunInput> inputs)
    {
        foreach (var input in inputs)
            if (input.Streaming is { } streaming) streaming.QuietAfter = QuietAfter;
        using var reader = OpenReader([.. inputs.Select(i => new AuditdSource(i.Name, () => i.Content))]);
        while (sink.Output.Error is null)
        {
            var result = reader.Read();
            if (result == ReadResult.End) break;
            if (result == ReadResult.Error)
            {
                if (!Skip(reader.Error!)) return (CliIO.InputError, reader.Error);
                continue;
            }
            if (Verdict(Filter, reader) is not 0 and var verdict) sink.Event(reader, Key(verdict));
            BetweenEvents?.Invoke();
        }
        WarnPastPathItems(reader.EventsPastPathItems);
        return (CliIO.Ok, null);
    }

    /// <summary>
    /// A reader of an auditd log as this run reads it. A parallel run's readers start inside a file: at line
    /// <paramref name="startLineNumber"/>, after the events <paramref name="ended"/> (<see cref="AuditdReader.EndedIds"/>).
    /// </summary>
    internal AuditdReader OpenReader(IReadOnlyList<AuditdSource> sources, long startLineNumber = 1, AuditdEventId[]? ended = null,
        AuditdReaderPool? pool = null) => new(sources)
    {
        Pool = pool,
        Fields = FieldsOfFilterOnly ? Filter.Program.FieldsRead : null,
        Matches = FieldsOfFilterOnly ? SyscallMatchTable.Of(Filter.Program) : null,
        KeepLines = NeedsLines,
        StartLineNumber = startLineNumber,
        EndedIds = ended ?? [],
    };

    /// <summary>The verdict of <paramref name="filter"/> on the event just read (0 outside --start/--end).</summary>
    internal uint Verdict(IRecordFilter filter, AuditdReader reader)
    {
        if (Times is { } times && !times.Contains(reader.EventId)) return 0;
        // An event without a record (no SYSCALL nor ANOM_ABEND: USER_*, LOGIN, ...) matches only a filter
        // that reads no field, such as `true`: it has no fields to test (spec/auditd.md).
        return reader.HasRecord ? (reader.CannotMatch ? 0 : filter.Run(new Record(reader.Record)))
            : !filter.Program.ReadsRecord ? filter.Run(new Record(NoRecord)) : 0;
    }

    /// <summary>Their path, dir and filetype tests saw only the first items (spec/record.md, "PATH items"): never silent.</summary>
    internal void WarnPastPathItems(long past)
    {
        if (past > 0)
            io.Stderr.WriteLine($"warning: {past} event{(past == 1 ? " has" : "s have")} more than {RecordLayout.PathItems} PATH items; filters see the first {RecordLayout.PathItems}");
    }

    internal MatchSink Sink => sink;

    internal string Key(uint verdict)
    {
        var keys = Filter.Program.Keys;
        return verdict <= keys.Count ? keys[(int)verdict - 1] : "";
    }

    /// <summary>Whether to go on after <paramref name="error"/>: --lenient skips bad lines, never an input it cannot read.</summary>
    internal bool Skip(Diagnostic error)
    {
        if (!lenient || !InputErrors.IsSkippable(error)) return false;
        _skipped++;
        CliDiagnostics.Write(io, DiagnosticsFormat.Text, [InputErrors.Skipped(error)]);
        return true;
    }
}

/// <summary>Seconds since 1970, both ends included (run --start/--end, as ausearch -ts/-te compare them).</summary>
internal sealed record EventTimes(long From, long To)
{
    // Seconds are at most AuditdEventId.MaxSeconds: the cast is exact.
    public bool Contains(AuditdEventId id) => (long)id.Seconds >= From && (long)id.Seconds <= To;
}
