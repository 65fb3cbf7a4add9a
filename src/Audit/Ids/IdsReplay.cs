using Filter.Audit.Formats;
using Filter.Audit.Pipeline;
using Filter.VM;

namespace Filter.Audit.Ids;

/// <summary>What an IDS replay read: every event is exactly one of a syscall record, a signal record (ANOM_ABEND) or without a record.</summary>
public readonly record struct IdsReplayResult(long Events, long SyscallRecords, long SignalRecords, long WithoutRecord, long InputErrors);

/// <summary>
/// Runs the IDS over auditd logs: each event's record as the auditd reader decodes it — its SYSCALL record,
/// or the <c>type == signal</c> record of its ANOM_ABEND (<see cref="AuditdReader.HasSignal"/>, the decoding
/// the live source uses) — is committed through the pipeline (the pre-filter runs before commit, as for a
/// live source) with the event's time in Unix milliseconds; after each event the IDS drains its queue, so
/// the replay never loses a record and alerts name audit event ids.
/// </summary>
public static class IdsReplay
{
    /// <param name="onError">Called for each bad line (reading goes on); null to ignore them (they are still counted).</param>
    public static IdsReplayResult Run(AuditdReader reader, AuditContext context, IdsSubscriber ids,
        Action<InputError>? onError = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(ids);
        var builder = new RecordBuilder();
        long events = 0, syscalls = 0, signals = 0, without = 0, errors = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var result = reader.Read(builder);
            if (result == ReadResult.End) break;
            if (result == ReadResult.Error)
            {
                errors++;
                onError?.Invoke(reader.Error);
                continue;
            }
            events++;
            var id = reader.EventId;
            long timestamp = checked((long)id.Seconds * 1000 + id.Millis);
            if (reader.HasRecord)
            {
                context.CommitRecord(builder.Build(), timestamp);
                if (reader.HasSignal) signals++;
                else syscalls++;
            }
            else without++;
            ids.Drain(id);
        }
        return new IdsReplayResult(events, syscalls, signals, without, errors);
    }

    /// <summary>Opens <paramref name="paths"/> as one log and runs the IDS over it with a pipeline of its own.</summary>
    public static (IdsReplayResult Result, IdsStats Stats) RunFiles(IEnumerable<string> paths, IdsOptions options,
        Action<IdsAlert> onAlert, Action<InputError>? onError = null, CancellationToken cancellationToken = default)
    {
        var pipeline = new AuditPipeline();
        var ids = IdsSubscriber.Subscribe(pipeline, options, onAlert);
        using var reader = AuditdReader.OpenFiles(paths);
        var result = Run(reader, pipeline.CreateContext(), ids, onError, cancellationToken);
        pipeline.Complete();
        ids.Drain();
        return (result, ids.Monitor.Stats);
    }
}
