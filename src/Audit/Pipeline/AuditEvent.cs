using Filter.VM;

namespace Filter.Audit.Pipeline;

/// <summary>What a subscriber reads: a record it wanted, or the announcement that some were lost.</summary>
public enum AuditEventKind : byte
{
    /// <summary>A committed record that matched the subscriber's filter.</summary>
    Record,
    /// <summary>
    /// The <i>record-failed</i> marker: <see cref="AuditEvent.LostCount"/> records the subscriber wanted were
    /// dropped because its queue was full; their serials lie in <see cref="AuditEvent.FirstLostSerial"/>..
    /// <see cref="AuditEvent.LastLostSerial"/>.
    /// </summary>
    RecordsLost,
}

/// <summary>
/// One item of a subscriber's stream. A value type: the record-failed marker needs no allocation, so it
/// can always be produced (it is "pre-allocated" in the sense of the classic design). A record's
/// <see cref="Bytes"/> live in the subscriber's queue slot and stay valid only until the subscriber's
/// next read; call <see cref="Bytes"/>.<c>ToArray()</c> to keep them.
/// </summary>
public readonly struct AuditEvent
{
    private AuditEvent(AuditEventKind kind, ReadOnlyMemory<byte> bytes, ulong serial, long timestamp, long lost, ulong first, ulong last,
        long upstream = 0, uint verdict = 0, string key = "")
    {
        UpstreamLostCount = upstream;
        Verdict = verdict;
        _key = key;
        Kind = kind;
        Bytes = bytes;
        Serial = serial;
        Timestamp = timestamp;
        LostCount = lost;
        FirstLostSerial = first;
        LastLostSerial = last;
    }

    internal static AuditEvent ForRecord(ReadOnlyMemory<byte> bytes, ulong serial, long timestamp, uint verdict, string key) =>
        new(AuditEventKind.Record, bytes, serial, timestamp, 0, 0, 0, verdict: verdict, key: key);

    internal static AuditEvent ForLoss(long count, ulong first, ulong last, long upstream = 0) =>
        new(AuditEventKind.RecordsLost, default, 0, 0, count, first, last, upstream);

    public AuditEventKind Kind { get; }

    /// <summary>The record in the layout of <see cref="RecordLayout"/>; empty for a marker.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    /// <summary>The record as the engines see it.</summary>
    public Record Record => new(Bytes.Span);

    /// <summary>
    /// The pipeline-wide serial of a record. Serials are given only to records at least one subscriber
    /// wanted (a record every filter drops costs no shared counter), so they increase by one per wanted
    /// record, across all producers.
    /// </summary>
    public ulong Serial { get; }

    /// <summary>
    /// For a record: the verdict the subscriber's filter gave it (non-zero): the number of the deciding
    /// <c>always</c> rule of a policy, 1 for a plain expression. 0 for a marker.
    /// </summary>
    public uint Verdict { get; }

    /// <summary>
    /// For a record: the deciding rule's key, as auditd tags a record with its rule's <c>key=</c> (<c>""</c>
    /// for a rule without one, and for a marker). It is the key of the filter that decided, even if the
    /// subscriber's filter has been replaced since.
    /// </summary>
    public string Key => _key ?? ""; // also for default(AuditEvent)

    private readonly string? _key;

    /// <summary>The timestamp the producer gave at close (unit chosen by the producer; the replay source uses Unix milliseconds).</summary>
    public long Timestamp { get; }

    /// <summary>For a marker: how many records were lost (at least 1).</summary>
    public long LostCount { get; }

    /// <summary>
    /// For a marker: how many of <see cref="LostCount"/> were lost before reaching the pipeline (a kernel
    /// source's losses, <see cref="AuditContext.ReportUpstreamLoss"/>). They have no serial; a marker with
    /// only such losses has serials 0..0.
    /// </summary>
    public long UpstreamLostCount { get; }

    /// <summary>For a marker: the smallest serial among the lost records.</summary>
    public ulong FirstLostSerial { get; }

    /// <summary>For a marker: the largest serial among the lost records.</summary>
    public ulong LastLostSerial { get; }

    public override string ToString() => Kind == AuditEventKind.Record
        ? $"record #{Serial} ({Bytes.Length} bytes)"
        : $"record-failed: {LostCount} lost in #{FirstLostSerial}..#{LastLostSerial}";
}

/// <summary>The credentials a record is tagged with at open (auditctl names).</summary>
public readonly record struct AuditCredentials(
    uint Ppid = 0, uint Auid = uint.MaxValue, uint Uid = 0, uint Gid = 0, uint Euid = 0, uint Suid = 0,
    uint Fsuid = 0, uint Egid = 0, uint Sgid = 0, uint Fsgid = 0, uint Ses = uint.MaxValue);

/// <summary>
/// A subscriber's accounting (<c>spec/pipeline.md</c>). <see cref="Produced"/> counts the records committed
/// while the subscriber was subscribed; each of them was exactly one of delivered (queued for the
/// subscriber), filtered out, or lost: <c>Produced == Delivered + FilteredOut + Lost</c>. The sums are
/// exact whenever no producer is between <c>Close</c> and its return (for example after the producers
/// have stopped); while records flow they are a consistent-enough live view.
/// </summary>
public readonly record struct SubscriberStats(long Produced, long Delivered, long FilteredOut, long Lost, long Consumed, long MarkersDelivered)
{
    /// <summary>Records lost before the pipeline (never produced, so outside the identity), announced in markers too.</summary>
    public long UpstreamLost { get; init; }

    /// <summary>Delivered but not yet read.</summary>
    public long Pending => Delivered - Consumed;
    public bool Balanced => Produced == Delivered + FilteredOut + Lost;
}
