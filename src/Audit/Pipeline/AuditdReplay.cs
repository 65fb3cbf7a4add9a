using Filter.Audit.Formats;

namespace Filter.Audit.Pipeline;

/// <summary>
/// What a replay did: every event read is exactly one of committed, without a record (no SYSCALL and no
/// ANOM_ABEND record: <c>WithoutSyscall</c>), or skipped by the per-process switch.
/// </summary>
public readonly record struct ReplayResult(long Events, long Committed, long WithoutSyscall, long SkippedByProcess, long InputErrors);

/// <summary>
/// A recorded source: feeds an auditd log's events through a pipeline, so the library that serves a live
/// syscall layer serves recorded streams too. Each event's record — its SYSCALL record, or the signal record
/// of an ANOM_ABEND (<see cref="AuditdReader.HasSignal"/>), as the live source commits them — is committed
/// through one <see cref="AuditContext"/> with the event's time (Unix milliseconds) as its timestamp; events
/// without either (USER_*, LOGIN, ...) have no record to filter and are counted, not committed. A replay is
/// a producer like any other: it never waits for a slow subscriber, whose losses are announced as usual.
/// </summary>
public static class AuditdReplay
{
    /// <param name="onError">Called for each bad line (reading goes on); null to ignore them (they are still counted).</param>
    /// <param name="afterEvent">Called after each event (committed or not) with its id, while the reader still holds it.</param>
    public static ReplayResult Run(AuditdReader reader, AuditContext context, Action<Diagnostic>? onError = null,
        CancellationToken cancellationToken = default, Action<AuditdEventId>? afterEvent = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(context);
        long events = 0, committed = 0, withoutSyscall = 0, errors = 0;
        long skippedBefore = context.SkippedByProcess;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var result = reader.Read();
            if (result == ReadResult.End) break;
            if (result == ReadResult.Error)
            {
                errors++;
                onError?.Invoke(reader.Error!);
                continue;
            }
            events++;
            var id = reader.EventId;
            if (reader.HasRecord)
            {
                long timestamp = id.UnixMilliseconds;
                long before = context.SkippedByProcess;
                context.CommitRecord(reader.Record, timestamp);
                if (context.SkippedByProcess == before) committed++;
            }
            else withoutSyscall++;
            afterEvent?.Invoke(id);
        }
        return new ReplayResult(events, committed, withoutSyscall, context.SkippedByProcess - skippedBefore, errors);
    }
}
