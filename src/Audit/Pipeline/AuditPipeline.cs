using Filter.VM;

namespace Filter.Audit.Pipeline;

/// <summary>
/// The commit path of an audit system (<c>spec/pipeline.md</c>). Producers (one <see cref="AuditContext"/>
/// per thread) open, fill and close records; at close every subscriber's verified filter runs on the
/// record before anything is copied, and a record is copied only into the queues of the subscribers that
/// want it. Nothing on that path takes a lock: the subscriber list is an immutable snapshot swapped
/// atomically, queues are lock-free, counters of dropped records are per producer.
/// </summary>
/// <remarks>
/// Control operations (subscribe, swap a filter, leave, per-process switch) are serialised among
/// themselves by a lock that producers and consumers never take.
/// </remarks>
public sealed class AuditPipeline
{
    /// <summary>Process ids below this are switched with a bitmap; larger ones (rare) with a set.</summary>
    private const int PidBitmapBits = 1 << 22;

    private readonly Lock _control = new();
    private volatile Snapshot _snapshot = Snapshot.Empty;
    private int _nextIndex;
    private readonly List<AuditContext> _contexts = [];
    private readonly List<Subscription> _everSubscribed = [];

    private long _serial;

    private readonly long[] _unauditedPids = new long[PidBitmapBits / 64];
    // One bit per block of 4,096 pids (1 << BlockShift): set while some pid of the block is switched off. The pid bitmap is
    // 512 KB, so a lookup in it misses the cache on nearly every record; this summary is 128 bytes, and the
    // pid bitmap is read only for pids near a switched-off one.
    private const int BlockShift = 12, WordsPerBlock = (1 << BlockShift) / 64;
    private readonly long[] _unauditedBlocks = new long[(PidBitmapBits >> BlockShift) / 64];
    private volatile HashSet<uint> _unauditedLargePids = [];

    private readonly long[] _uninstrumentedSeen = new long[1024 / 64 * 4];
    private readonly HashSet<(uint, uint)> _uninstrumentedSeenLarge = [];
    private long _uninstrumentedCalls;

    /// <summary>A subscriber's place in the snapshot: it and the filter that decides for it. Immutable.</summary>
    internal sealed record Entry(Subscription Subscription, IRecordFilter Filter)
    {
        /// <summary>Where the subscriber's pair of counters starts in a producer's counter array (2 × its index).</summary>
        public readonly int CounterSlot = Subscription.Index * 2;

        /// <summary>The (arch, syscall) pairs of syscall records the filter may match.</summary>
        public readonly SyscallMatchTable Matches = SyscallMatchTable.Of(Filter.Program);
    }

    /// <summary>
    /// The subscribers and their filters as producers see them, replaced as a whole (never changed) by
    /// every control operation, the per-process switch included (producers cache what they looked up in
    /// one until it is replaced): a record is tested against one snapshot.
    /// </summary>
    internal sealed class Snapshot
    {
        public static readonly Snapshot Empty = new([], SyscallMatchTable.None);

        public readonly Entry[] Entries;
        /// <summary>
        /// The (arch, syscall) pairs some subscriber's filter may match: a syscall record of any other pair
        /// is dropped by every filter, which need not run (<see cref="SyscallMatchTable"/>).
        /// </summary>
        public readonly SyscallMatchTable Matches;
        /// <summary>The length of producer counter array this snapshot's counter slots need.</summary>
        public readonly int CounterLength;
        /// <summary>Each entry's filtered-out counter slot: what a record dropped at open increments.</summary>
        public readonly int[] FilteredOutSlots;
        /// <summary>
        /// Some entry's table rules out syscall records that <see cref="Matches"/> (the union) lets through
        /// (subscribers want different syscalls): at close, each entry's own table is looked up before its
        /// filter runs, as the kernel skips a rule whose syscall mask lacks the call.
        /// </summary>
        public readonly bool CheckEach;

        public Snapshot(Entry[] entries, SyscallMatchTable matches)
        {
            Entries = entries;
            Matches = matches;
            CheckEach = entries.Any(e => !e.Matches.SameAs(matches));
            FilteredOutSlots = entries.Select(e => e.CounterSlot + 1).ToArray();
            CounterLength = entries.Length == 0 ? 0 : FilteredOutSlots.Max() + 1;
        }
    }

    internal Snapshot Current => _snapshot;

    /// <summary>Publishes a new snapshot of <paramref name="entries"/> (under the control lock).</summary>
    private void Publish(Entry[] entries) =>
        _snapshot = new Snapshot(entries, SyscallMatchTable.Union(entries.Select(e => e.Matches)));

    // ---------------------------------------------------------------- subscribers

    /// <summary>Adds a subscriber with its own filter and a queue of <paramref name="capacity"/> records (rounded up to a power of two).</summary>
    public Subscription Subscribe(string name, IRecordFilter filter, int capacity = 1024)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(filter);
        lock (_control)
        {
            var sub = new Subscription(this, name, _nextIndex++, capacity);
            _everSubscribed.Add(sub);
            Publish([.. _snapshot.Entries, new Entry(sub, filter)]);
            return sub;
        }
    }

    /// <summary>
    /// Replaces a subscriber's filter. Atomic for every record: each record is tested with either the old
    /// or the new filter, exactly once, so a swap loses and duplicates nothing.
    /// </summary>
    public void SetFilter(Subscription subscription, IRecordFilter filter)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        ArgumentNullException.ThrowIfNull(filter);
        lock (_control)
        {
            var entries = _snapshot.Entries;
            int i = Array.FindIndex(entries, e => e.Subscription == subscription);
            if (i < 0) throw new InvalidOperationException($"{subscription} is not subscribed");
            var copy = (Entry[])entries.Clone();
            copy[i] = new Entry(subscription, filter);
            Publish(copy);
        }
    }

    /// <summary>
    /// Removes a subscriber. Once every producer that could still see it has left its commit (a grace
    /// period, a few instructions long), its queue is completed: the reader drains it and ends.
    /// </summary>
    public void Unsubscribe(Subscription subscription)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        lock (_control)
        {
            var entries = _snapshot.Entries;
            if (!entries.Any(e => e.Subscription == subscription)) return;
            Publish(entries.Where(e => e.Subscription != subscription).ToArray());
            WaitForCommitsInFlight();
            subscription.Queue.Complete();
        }
    }

    /// <summary>Completes every subscriber: call when no producer will commit again. Readers drain and end.</summary>
    public void Complete()
    {
        lock (_control)
        {
            var entries = _snapshot.Entries;
            Publish([]);
            WaitForCommitsInFlight();
            foreach (var e in entries) e.Subscription.Queue.Complete();
        }
    }

    /// <summary>
    /// RCU-style grace period. A producer marks its commit with a plain write to its own counter (odd =
    /// inside) before reading the snapshot; the process-wide barrier makes every such write visible here,
    /// so a producer still using the old snapshot shows an odd counter, and we wait for it to move.
    /// </summary>
    private void WaitForCommitsInFlight()
    {
        Interlocked.MemoryBarrierProcessWide();
        foreach (var ctx in _contexts)
        {
            long seen = ctx.CommitSequence;
            if ((seen & 1) == 0) continue;
            var spin = new SpinWait();
            while (ctx.CommitSequence == seen) spin.SpinOnce();
        }
    }

    internal IRecordFilter? FilterOf(Subscription s) => Array.Find(_snapshot.Entries, e => e.Subscription == s)?.Filter;

    internal SubscriberStats StatsOf(Subscription s)
    {
        long produced = 0, filtered = 0;
        lock (_control)
            foreach (var ctx in _contexts) ctx.ReadCounters(s.Index, ref produced, ref filtered);
        var q = s.Queue;
        long upstream = q.UpstreamLost;
        return new SubscriberStats(produced, q.Delivered, filtered, q.LostTotal - upstream, q.Consumed, q.Markers) { UpstreamLost = upstream };
    }

    // ---------------------------------------------------------------- producers

    /// <summary>A producer context: one per thread (or per simulated process context), reused for every record.</summary>
    public AuditContext CreateContext()
    {
        lock (_control)
        {
            var ctx = new AuditContext(this);
            _contexts.Add(ctx);
            return ctx;
        }
    }

    /// <summary>The next serial, for a record at least one subscriber wants.</summary>
    internal ulong NextSerial() => (ulong)Interlocked.Increment(ref _serial);

    /// <summary>Records given a serial so far (records at least one subscriber wanted).</summary>
    public long SerialsIssued => Volatile.Read(ref _serial);

    // ---------------------------------------------------------------- per-process switch

    /// <summary>
    /// Turns auditing on or off for a process (the audit daemon must not audit itself). Checked at open,
    /// with one bit test for nearly every pid: a record opened by a switched-off process is never produced.
    /// </summary>
    public void SetAuditing(uint pid, bool enabled)
    {
        lock (_control)
        {
            if (pid < PidBitmapBits)
            {
                long bit = 1L << (int)(pid & 63);
                uint block = pid >> BlockShift;
                long blockBit = 1L << (int)(block & 63);
                if (enabled)
                {
                    Interlocked.And(ref _unauditedPids[pid >> 6], ~bit);
                    if (_unauditedPids.AsSpan((int)block * WordsPerBlock, WordsPerBlock).IndexOfAnyExcept(0L) < 0)
                        Interlocked.And(ref _unauditedBlocks[block >> 6], ~blockBit);
                }
                else
                {
                    // The pid's bit before the block's: a reader that sees the block's sees the pid's.
                    Interlocked.Or(ref _unauditedPids[pid >> 6], bit);
                    Interlocked.Or(ref _unauditedBlocks[block >> 6], blockBit);
                }
            }
            else
            {
                var set = new HashSet<uint>(_unauditedLargePids);
                if (enabled) set.Remove(pid); else set.Add(pid);
                _unauditedLargePids = set;
            }
            // After the switch itself: a producer that sees the new snapshot looks its task's pid up again.
            var current = _snapshot;
            _snapshot = new Snapshot(current.Entries, current.Matches);
        }
    }

    public bool IsAudited(uint pid)
    {
        if (pid >= PidBitmapBits) return !_unauditedLargePids.Contains(pid);
        uint block = pid >> BlockShift;
        return (Volatile.Read(ref _unauditedBlocks[block >> 6]) & (1L << (int)(block & 63))) == 0
            || (Volatile.Read(ref _unauditedPids[pid >> 6]) & (1L << (int)(pid & 63))) == 0;
    }

    // ---------------------------------------------------------------- uninstrumented syscalls

    /// <summary>
    /// Raised once per (arch, syscall number), on the producer's thread, the first time a record of that
    /// syscall is closed without its arguments having been submitted. Handlers must be quick.
    /// </summary>
    public event Action<uint, uint>? UninstrumentedSyscall;

    /// <summary>How many records were closed without arguments (every one, not once per number).</summary>
    public long UninstrumentedCalls => Volatile.Read(ref _uninstrumentedCalls);

    internal void ReportUninstrumented(uint arch, uint syscall)
    {
        Interlocked.Increment(ref _uninstrumentedCalls);
        int archIndex = -1;
        for (int i = 0; i < AuditArch.All.Count; i++) if (AuditArch.All[i].Value == arch) archIndex = i;
        bool first;
        if (archIndex >= 0 && archIndex < 4 && syscall < 1024)
        {
            int bit = archIndex * 1024 + (int)syscall;
            long mask = 1L << (bit & 63);
            first = (Interlocked.Or(ref _uninstrumentedSeen[bit >> 6], mask) & mask) == 0;
        }
        else
        {
            lock (_uninstrumentedSeenLarge) first = _uninstrumentedSeenLarge.Add((arch, syscall));
        }
        if (first) UninstrumentedSyscall?.Invoke(arch, syscall);
    }
}
