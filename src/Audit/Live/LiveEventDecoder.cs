using Filter.Audit.Formats;
using Filter.VM;

namespace Filter.Audit.Live;

/// <summary>What an event became for the pipeline.</summary>
public enum LiveEventKind : byte
{
    /// <summary>Its SYSCALL record, decoded: a <c>type == syscall</c> record.</summary>
    Syscall,
    /// <summary>No SYSCALL but an ANOM_ABEND record (a process ended by a signal): a <c>type == signal</c> record with <c>sig</c>.</summary>
    Signal,
    /// <summary>Neither (USER_*, CONFIG_CHANGE, LOGIN, ...): nothing to filter, not committed.</summary>
    NoRecord,
    /// <summary>Its SYSCALL or ANOM_ABEND record does not decode (<see cref="LiveEventDecoder.Error"/>).</summary>
    Malformed,
}

/// <summary>
/// Turns an assembled event into a record in the layout the engines read (spec/record.md), with the
/// decoding of auditd logs (<see cref="AuditdSyscall"/>: the netlink text is the log line's body), and the
/// same choice as <see cref="AuditdReader"/>: a SYSCALL record gives a syscall record; an event without one
/// but with ANOM_ABEND gives, from its first one, the signal record of
/// <see cref="AuditdSyscall.TryParseAnomAbend"/> — arch, syscall, exit and arguments 0 — the record
/// <see cref="Pipeline.AuditContext.Signal"/> would commit. Not thread-safe.
/// </summary>
public sealed class LiveEventDecoder
{
    private readonly RecordBuilder _builder = new();
    private readonly byte[] _scratch = new byte[RecordLayout.ExeMaxLength];
    private readonly int _fields;
    private readonly AuxFields _aux;
    private readonly EventExtras _extras = new();

    /// <param name="fields">The record fields to decode (a filter's <c>VerifiedProgram.FieldsRead</c>), or null for all.</param>
    public LiveEventDecoder(IEnumerable<string>? fields = null)
    {
        _aux = EventExtras.For(fields);
        _fields = fields is null ? AuditdSyscall.AllFields : AuditdSyscall.FieldsFor(fields);
    }

    /// <summary>Why the last <see cref="Decode"/> returned <see cref="LiveEventKind.Malformed"/>.</summary>
    public string? Error { get; private set; }

    /// <summary>
    /// Whether the SYSCALL record had an <c>exit=</c> field (exit and exit_group never return: see
    /// <see cref="AuditdReader.HasExit"/>). Meaningful after <see cref="LiveEventKind.Syscall"/>.
    /// </summary>
    public bool HasExit { get; private set; }

    /// <summary>
    /// Decodes <paramref name="ev"/>; for Syscall and Signal, <paramref name="record"/> holds the record until the next
    /// call, with what the event's other records say (<see cref="EventExtras"/>, as the auditd reader decodes them).
    /// </summary>
    public LiveEventKind Decode(LiveEvent ev, out ReadOnlySpan<byte> record)
    {
        record = default;
        Error = null;
        HasExit = false;
        _extras.Reset();
        LiveRecord? syscall = null, abend = null;
        string? message;
        foreach (var r in ev.Records)
        {
            if (r.Type == RecordTypes.Syscall) syscall ??= r;
            else if (r.Type == RecordTypes.AnomAbend) abend ??= r;
            else if (EventExtras.KindOf(RecordTypes.NameOf(r.Type), _aux) is var aux and not AuxRecord.None
                && !_extras.TryAdd(aux, r.Body, _scratch, _aux, out message))
                return Fail($"event {ev.Id}: {message}");
        }
        LiveEventKind kind;
        if (syscall is { } s)
        {
            if (!AuditdSyscall.TryParse(s.Body, _builder, _scratch, _fields, out bool hasExit, out message))
                return Fail($"event {ev.Id}: {message}");
            HasExit = hasExit;
            kind = LiveEventKind.Syscall;
        }
        else if (abend is { } a)
        {
            if (!AuditdSyscall.TryParseAnomAbend(a.Body, _builder, _scratch, _fields, out message))
                return Fail($"event {ev.Id}: {message}");
            kind = LiveEventKind.Signal;
        }
        else return LiveEventKind.NoRecord;
        _extras.ApplyTo(_builder, ev.Id, _aux);
        record = _builder.Build();
        return kind;
    }

    private LiveEventKind Fail(string message)
    {
        Error = message;
        return LiveEventKind.Malformed;
    }
}
