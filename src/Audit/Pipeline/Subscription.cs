using System.Runtime.CompilerServices;
using Filter.VM;

namespace Filter.Audit.Pipeline;

/// <summary>
/// One subscriber of an <see cref="AuditPipeline"/>: its queue and its reading side. Read it from one
/// consumer at a time, with <see cref="ReadAllAsync"/> or <see cref="TryRead"/>/<see cref="WaitToReadAsync"/>.
/// Its filter lives in the pipeline's snapshot (<see cref="AuditPipeline.SetFilter"/>).
/// </summary>
public sealed class Subscription
{
    private readonly AuditPipeline _pipeline;
    internal readonly SubscriberQueue Queue;

    internal Subscription(AuditPipeline pipeline, string name, int index, int capacity)
    {
        _pipeline = pipeline;
        Name = name;
        Index = index;
        Queue = new SubscriberQueue(capacity);
    }

    public string Name { get; }

    /// <summary>Dense, never reused: indexes the producers' per-subscriber counters.</summary>
    internal int Index { get; }

    /// <summary>The queue's capacity (the requested one rounded up to a power of two).</summary>
    public int Capacity => Queue.Capacity;

    /// <summary>The filter records are tested with now (null once unsubscribed).</summary>
    public IRecordFilter? Filter => _pipeline.FilterOf(this);

    /// <summary>This subscriber's accounting; see <see cref="SubscriberStats"/>.</summary>
    public SubscriberStats Stats => _pipeline.StatsOf(this);

    /// <summary>
    /// The next item if one is ready: a record-failed marker when records were lost since the last
    /// one, else the next record. A record's bytes stay valid until the next read.
    /// </summary>
    public bool TryRead(out AuditEvent item) => Queue.TryRead(out item);

    /// <summary>Waits for an item; false once the subscriber has left (or the pipeline completed) and everything is read.</summary>
    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) => Queue.WaitToReadAsync(cancellationToken);

    /// <summary>Every item until the subscriber leaves or the pipeline completes and the queue is drained.</summary>
    public async IAsyncEnumerable<AuditEvent> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await Queue.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            while (Queue.TryRead(out var item))
                yield return item;
    }

    public override string ToString() => $"subscriber '{Name}'";
}
