using Filter.Audit.Formats;

namespace Filter.Audit.Live;

/// <summary>
/// Groups kernel audit records into events (spec/live.md, "Events"). Records of one event share an id
/// <c>audit(SECONDS.MILLIS:SERIAL)</c>. An event is complete when (1) its EOE record arrives — the kernel
/// ends every syscall event with one (kernel/auditsc.c audit_log_exit); or (2) no record of it arrived for
/// <see cref="Timeout"/> — records logged outside a syscall (ANOM_ABEND, USER_*, DAEMON_*, LOGIN,
/// CONFIG_CHANGE of a syscall no rule records, ...) never get an EOE; or (3) <see cref="MaxOpenEvents"/>
/// are open and another starts — the least recently fed is complete; or (4) the held records would
/// exceed <see cref="MaxHeldBytes"/> — the least recently fed events are complete until the new record
/// fits; or (5) <see cref="Flush"/>. Events are emitted in the order they complete. A record after its
/// event completed starts a new event with that id. A record that does not fit even alone with its own
/// event (one event of more than <see cref="MaxHeldBytes"/>) is dropped and counted as lost, as is the
/// rest of a datagram after a netlink header that cannot be right.
/// Not thread-safe: one reader thread feeds it. Time is passed in (Stopwatch ticks) so tests control it.
/// </summary>
public sealed class EventAssembler
{
    /// <summary>The bound on held record text, as the auditd reader bounds its held lines.</summary>
    public const long DefaultMaxHeldBytes = 64L << 20;

    private readonly Dictionary<AuditdEventId, LiveEvent> _open = [];
    private readonly long _timeoutTicks;
    private long _heldBytes;

    public EventAssembler(TimeSpan timeout, int maxOpenEvents = 4096, long maxHeldBytes = DefaultMaxHeldBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxOpenEvents, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxHeldBytes, 1);
        Timeout = timeout;
        MaxOpenEvents = maxOpenEvents;
        MaxHeldBytes = maxHeldBytes;
        _timeoutTicks = (long)(timeout.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
    }

    public TimeSpan Timeout { get; }
    public int MaxOpenEvents { get; }
    public long MaxHeldBytes { get; }

    /// <summary>Records whose text did not start with <c>audit(SECONDS.MILLIS:SERIAL): </c> (dropped, counted).</summary>
    public long Malformed { get; private set; }

    /// <summary>Records taken (EOE included, malformed excluded).</summary>
    public long Records { get; private set; }

    /// <summary>
    /// Records lost here: dropped because their event alone would hold more than <see cref="MaxHeldBytes"/>,
    /// plus one (at least one record) for each datagram whose rest was dropped after a bad netlink header.
    /// </summary>
    public long Lost { get; private set; }

    /// <summary>Datagrams read only in part: a netlink header's length was impossible, so the rest of it could not be read.</summary>
    public long BadDatagrams { get; private set; }

    public int OpenCount => _open.Count;

    /// <summary>Bytes of record text held in open events.</summary>
    public long HeldBytes => _heldBytes;

    /// <summary>
    /// Adds every audit record of one netlink datagram (<see cref="Netlink"/> framing; other message types
    /// are skipped). A header whose length is impossible ends the datagram: the rest is counted as lost.
    /// </summary>
    public void AddDatagram(ReadOnlySpan<byte> datagram, long now, List<LiveEvent> completed)
    {
        int offset = 0;
        while (Netlink.TryRead(datagram, ref offset, out var m))
            if (m.Type >= RecordTypes.FirstRecordType)
                Add(m.Type, datagram.Slice(m.PayloadOffset, m.PayloadLength), now, completed);
        if (offset < datagram.Length)
        {
            BadDatagrams++;
            Lost++;
        }
    }

    /// <summary>Adds one record (a netlink message's type and payload); appends any event it completes to <paramref name="completed"/>.</summary>
    public void Add(ushort type, ReadOnlySpan<byte> payload, long now, List<LiveEvent> completed)
    {
        if (!AuditRecordText.TryParse(payload, out var id, out var body))
        {
            Malformed++;
            return;
        }
        Records++;
        _open.TryGetValue(id, out var ev);
        if (ev is null && type == RecordTypes.Eoe) return; // an EOE whose event was already complete: nothing left to end
        if (type != RecordTypes.Eoe)
        {
            // Rule (4): make room by completing the least recently fed other events; a record its own event
            // cannot take within the bound is lost.
            while (_heldBytes + body.Length > MaxHeldBytes && _open.Count > (ev is null ? 0 : 1)) CompleteOldest(completed, except: ev);
            if (_heldBytes + body.Length > MaxHeldBytes)
            {
                Lost++;
                if (ev is not null) ev.LastSeen = now;
                return;
            }
        }
        if (ev is null)
        {
            if (_open.Count >= MaxOpenEvents) CompleteOldest(completed, except: null);
            ev = new LiveEvent(id);
            _open.Add(id, ev);
        }
        ev.LastSeen = now;
        if (type == RecordTypes.Eoe)
        {
            ev.EndedByEoe = true;
            Complete(ev, completed);
            return;
        }
        ev.Records.Add(new LiveRecord(type, body.ToArray()));
        ev.HeldBytes += body.Length;
        _heldBytes += body.Length;
    }

    /// <summary>Completes the events idle for the timeout.</summary>
    public void Expire(long now, List<LiveEvent> completed)
    {
        if (_open.Count == 0) return;
        List<LiveEvent>? done = null;
        foreach (var ev in _open.Values)
            if (now - ev.LastSeen >= _timeoutTicks) (done ??= []).Add(ev);
        if (done is null) return;
        // In arrival order of their last record, so standalone records come out in the order they came in.
        done.Sort((a, b) => a.LastSeen.CompareTo(b.LastSeen) is var c && c != 0 ? c : a.Id.CompareTo(b.Id));
        foreach (var ev in done) Complete(ev, completed);
    }

    /// <summary>Completes every open event (shutdown).</summary>
    public void Flush(List<LiveEvent> completed) => Expire(long.MaxValue / 2, completed);

    private void CompleteOldest(List<LiveEvent> completed, LiveEvent? except)
    {
        LiveEvent? oldest = null;
        foreach (var ev in _open.Values)
            if (ev != except && (oldest is null || ev.LastSeen < oldest.LastSeen)) oldest = ev;
        Complete(oldest!, completed);
    }

    private void Complete(LiveEvent ev, List<LiveEvent> completed)
    {
        _open.Remove(ev.Id);
        _heldBytes -= ev.HeldBytes;
        completed.Add(ev);
    }
}
