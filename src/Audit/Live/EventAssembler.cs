using Filter.Audit.Formats;

namespace Filter.Audit.Live;

/// <summary>
/// Groups kernel audit records into events (spec/live.md, "Events"). Records of one event share an id
/// <c>audit(SECONDS.MILLIS:SERIAL)</c>. An event is complete when (1) its EOE record arrives — the kernel
/// ends every syscall event with one (kernel/auditsc.c audit_log_exit); or (2) no record of it arrived for
/// <see cref="Timeout"/> — records logged outside a syscall (ANOM_ABEND, USER_*, DAEMON_*, LOGIN,
/// CONFIG_CHANGE of a syscall no rule records, ...) never get an EOE; or (3) <see cref="MaxOpenEvents"/>
/// are open and another starts — the least recently fed is complete; or (4) <see cref="Flush"/>. Events are
/// emitted in the order they complete. A record after its event completed starts a new event with that id.
/// Not thread-safe: one reader thread feeds it. Time is passed in (Stopwatch ticks) so tests control it.
/// </summary>
public sealed class EventAssembler(TimeSpan timeout, int maxOpenEvents = 4096)
{
    private readonly Dictionary<AuditdEventId, LiveEvent> _open = [];
    private readonly long _timeoutTicks = (long)(timeout.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);

    public TimeSpan Timeout { get; } = timeout;
    public int MaxOpenEvents { get; } = maxOpenEvents > 0 ? maxOpenEvents : throw new ArgumentOutOfRangeException(nameof(maxOpenEvents));

    /// <summary>Records whose text did not start with <c>audit(SECONDS.MILLIS:SERIAL): </c> (dropped, counted).</summary>
    public long Malformed { get; private set; }

    /// <summary>Records taken (EOE included, malformed excluded).</summary>
    public long Records { get; private set; }

    public int OpenCount => _open.Count;

    /// <summary>Adds one record (a netlink message's type and payload); appends any event it completes to <paramref name="completed"/>.</summary>
    public void Add(ushort type, ReadOnlySpan<byte> payload, long now, List<LiveEvent> completed)
    {
        if (!AuditRecordText.TryParse(payload, out var id, out var body))
        {
            Malformed++;
            return;
        }
        Records++;
        if (!_open.TryGetValue(id, out var ev))
        {
            if (type == RecordTypes.Eoe) return; // an EOE whose event was already complete: nothing left to end
            if (_open.Count >= MaxOpenEvents) CompleteOldest(completed);
            ev = new LiveEvent(id);
            _open.Add(id, ev);
        }
        ev.LastSeen = now;
        if (type == RecordTypes.Eoe)
        {
            ev.EndedByEoe = true;
            _open.Remove(id);
            completed.Add(ev);
            return;
        }
        ev.Records.Add(new LiveRecord(type, body.ToArray()));
    }

    /// <summary>Completes the events idle for the timeout.</summary>
    public void Expire(long now, List<LiveEvent> completed)
    {
        if (_open.Count == 0) return;
        List<AuditdEventId>? done = null;
        foreach (var (id, ev) in _open)
            if (now - ev.LastSeen >= _timeoutTicks) (done ??= []).Add(id);
        if (done is null) return;
        // In arrival order of their last record, so standalone records come out in the order they came in.
        done.Sort((a, b) => _open[a].LastSeen.CompareTo(_open[b].LastSeen) is var c && c != 0 ? c : a.CompareTo(b));
        foreach (var id in done)
        {
            completed.Add(_open[id]);
            _open.Remove(id);
        }
    }

    /// <summary>Completes every open event (shutdown).</summary>
    public void Flush(List<LiveEvent> completed) => Expire(long.MaxValue / 2, completed);

    private void CompleteOldest(List<LiveEvent> completed)
    {
        LiveEvent? oldest = null;
        foreach (var ev in _open.Values)
            if (oldest is null || ev.LastSeen < oldest.LastSeen) oldest = ev;
        _open.Remove(oldest!.Id);
        completed.Add(oldest);
    }
}
