using Filter.Audit.Formats;
using Filter.Audit.Pipeline;
using Filter.VM;

namespace Filter.Audit.Ids;

/// <summary>
/// The IDS as a pipeline subscriber: its pre-filter (<see cref="IdsPreFilter"/>) runs on every record
/// before commit, and the records it passes feed an <see cref="IdsMonitor"/>. Alerts go to the callback
/// given at subscription, on the reading thread. Read either asynchronously (<see cref="RunAsync"/>, for a
/// live source) or in lock-step with a single producer (<see cref="Drain"/>, for a log: nothing is ever
/// lost, and each record's audit event id is known).
/// </summary>
public sealed class IdsSubscriber
{
    private readonly Action<IdsAlert> _onAlert;

    private IdsSubscriber(Subscription subscription, IdsMonitor monitor, Action<IdsAlert> onAlert)
    {
        Subscription = subscription;
        Monitor = monitor;
        _onAlert = onAlert;
    }

    public Subscription Subscription { get; }
    public IdsMonitor Monitor { get; }

    /// <summary>
    /// Subscribes the IDS to <paramref name="pipeline"/>. Throws <see cref="ArgumentException"/> with the
    /// positioned diagnostics when <see cref="IdsOptions.Scope"/> does not compile.
    /// </summary>
    public static IdsSubscriber Subscribe(AuditPipeline pipeline, IdsOptions options, Action<IdsAlert> onAlert,
        EngineKind engine = EngineKind.Jit, int capacity = 1 << 16)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(onAlert);
        var monitor = new IdsMonitor(options);
        var compiled = IdsPreFilter.Compile(options.Scope);
        var program = compiled.Program ?? throw new ArgumentException(DiagnosticRenderer.Render(DiagnosticsFormat.Text, compiled.Diagnostics), nameof(options));
        var subscription = pipeline.Subscribe("ids", RecordFilters.Create(program, engine), capacity);
        return new IdsSubscriber(subscription, monitor, onAlert);
    }

    /// <summary>
    /// Handles everything queued now, without waiting. <paramref name="currentEvent"/> is the audit event
    /// id of the records queued (a lock-step producer commits one event, then drains).
    /// </summary>
    public void Drain(AuditdEventId? currentEvent = null)
    {
        while (Subscription.TryRead(out var item)) Handle(item, currentEvent);
    }

    /// <summary>
    /// For an asynchronous reader: the audit event id of the record with a pipeline serial, when the source
    /// still knows it (a live source keeps the last events); null when it does not.
    /// </summary>
    public Func<ulong, AuditdEventId?>? EventOf { get; set; }

    /// <summary>Handles records as they come, until the pipeline completes (or the subscriber leaves) and the queue is empty.</summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        while (await Subscription.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            Drain();
    }

    private void Handle(in AuditEvent item, AuditdEventId? currentEvent)
    {
        if (item.Kind == AuditEventKind.RecordsLost)
        {
            Monitor.RecordsLost(item.LostCount);
            return;
        }
        var at = new IdsRecordRef(item.Serial, item.Timestamp, currentEvent ?? EventOf?.Invoke(item.Serial));
        if (Monitor.Observe(item.Record, at) is { } alert)
            _onAlert(alert);
    }
}
