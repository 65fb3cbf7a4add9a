using Filter.Audit.Formats;
using Filter.Audit.Pipeline;

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
        Action<Diagnostic>? onError = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        long signals = 0;
        var r = AuditdReplay.Run(reader, context, onError, cancellationToken, afterEvent: id =>
        {
            if (reader.HasSignal) signals++;
            ids.Drain(id);
        });
        return new IdsReplayResult(r.Events, r.Events - r.WithoutSyscall - signals, signals, r.WithoutSyscall, r.InputErrors);
    }

    /// <summary>Opens <paramref name="paths"/> as one log and runs the IDS over it with a pipeline of its own.</summary>
    public static (IdsReplayResult Result, IdsStats Stats) RunFiles(IEnumerable<string> paths, IdsOptions options,
        Action<IdsAlert> onAlert, Action<Diagnostic>? onError = null, CancellationToken cancellationToken = default)
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
