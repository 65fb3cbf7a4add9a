using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Filter.VM;

namespace Filter.Audit.Pipeline;

/// <summary>
/// A subscriber's bounded queue: many producers, one consumer, no lock anywhere. It is D. Vyukov's bounded
/// ring: each slot has a sequence number that says whose turn it is. A producer claims position p with one
/// CAS when slot p's sequence is p, copies the record into the slot's own buffer, and publishes with
/// sequence p+1; the consumer reads slot p when its sequence is p+1 and frees it (sequence p+capacity)
/// on its next read. A producer that finds slot p still owned by the consumer (sequence &lt; p) sees the
/// queue full and gives up at once: it never waits for the consumer.
/// </summary>
/// <remarks>
/// <para><b>Losses.</b> A record that finds the queue full is added to a <see cref="LossCell"/>: count, first
/// and last serial. The consumer swaps the live cell for a spare with one exchange and waits for the
/// producers still writing to the old one to finish (a few instructions; the consumer may wait for a
/// producer, never the reverse), so each loss lands in exactly one marker and no marker mixes halves of
/// an update. <see cref="LostTotal"/> lets the consumer see pending losses with one read.</para>
/// <para><b>Waking.</b> An idle consumer arms the queue's one reusable <see cref="Waiter"/> then re-checks; a
/// producer publishes with a full fence then disarms the waiter, if armed, and completes it. One side always
/// sees the other, so no wake-up is lost; exactly one side disarms, so the waiter completes once per wait.
/// Continuations run asynchronously: a producer never runs consumer code. Waiting allocates nothing.</para>
/// </remarks>
internal sealed class SubscriberQueue
{
    private const int InitialSlotBytes = 512;

    private sealed class Slot
    {
        public long Sequence;
        public byte[] Buffer = new byte[InitialSlotBytes];
        public int Length;
        public ulong Serial;
        public long Timestamp;
        public uint Verdict;
        public string Key = "";
    }

    internal sealed class LossCell
    {
        public int Writers;
        public long Count;
        public ulong First = ulong.MaxValue;
        public ulong Last;
        /// <summary>Of <see cref="Count"/>, records lost before the pipeline (no serial): see <see cref="RecordUpstreamLoss"/>.</summary>
        public long Upstream;
    }

    private readonly Slot[] _slots;
    private readonly int _mask;

    // Producers' and the consumer's hot fields on separate cache lines.
    private PaddedLong _enqueuePos;
    private PaddedLong _delivered;
    private PaddedLong _lostTotal;
    private long _upstreamLost;

    private LossCell _loss = new();
    private LossCell _spareLoss = new();

    private readonly Waiter _waiter = new();
    private volatile bool _completed;

    // Consumer-only state.
    private long _dequeuePos;
    private Slot? _held;
    private long _reportedLost;
    private long _consumed, _markers;

    public SubscriberQueue(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, 1 << 24);
        int size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity);
        _slots = new Slot[size];
        for (int i = 0; i < size; i++) _slots[i] = new Slot { Sequence = i };
        _mask = size - 1;
    }

    public int Capacity => _slots.Length;
    public long Delivered => Volatile.Read(ref _delivered.Value);
    /// <summary>Every lost record announced or to be announced: queue losses plus <see cref="UpstreamLost"/>.</summary>
    public long LostTotal => Volatile.Read(ref _lostTotal.Value);
    public long UpstreamLost => Volatile.Read(ref _upstreamLost);
    public long Consumed => Volatile.Read(ref _consumed);
    public long Markers => Volatile.Read(ref _markers);
    public bool IsCompleted => _completed;

    // ---------------------------------------------------------------- producers

    /// <summary>Copies the record, with the verdict and key its filter gave it, into a free slot, or counts it lost. Never blocks.</summary>
    public bool TryEnqueue(ReadOnlySpan<byte> record, ulong serial, long timestamp, uint verdict, string key)
    {
        long pos = Volatile.Read(ref _enqueuePos.Value);
        Slot slot;
        while (true)
        {
            slot = _slots[pos & _mask];
            long diff = Volatile.Read(ref slot.Sequence) - pos;
            if (diff == 0)
            {
                if (Interlocked.CompareExchange(ref _enqueuePos.Value, pos + 1, pos) == pos) break;
                pos = Volatile.Read(ref _enqueuePos.Value);
            }
            else if (diff < 0)
            {
                RecordLoss(serial);
                return false;
            }
            else pos = Volatile.Read(ref _enqueuePos.Value);
        }
        // The slot is ours alone until we publish it.
        if (slot.Buffer.Length < record.Length) slot.Buffer = new byte[Math.Max(record.Length, RecordLayout.HeaderSize * 2)];
        record.CopyTo(slot.Buffer);
        slot.Length = record.Length;
        slot.Serial = serial;
        slot.Timestamp = timestamp;
        slot.Verdict = verdict;
        slot.Key = key;
        Interlocked.Increment(ref _delivered.Value);
        // Full fence: the publish must be visible before we look for a parked consumer.
        Interlocked.Exchange(ref slot.Sequence, pos + 1);
        Wake();
        return true;
    }

    private void RecordLoss(ulong serial) => AddLoss(1, serial, upstream: false);

    /// <summary>
    /// Records lost before they reached the pipeline (a kernel source's own losses): they have no serial, and
    /// are announced in the next marker like queue losses (spec/pipeline.md, "Losses upstream").
    /// </summary>
    public void RecordUpstreamLoss(long count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        AddLoss(count, 0, upstream: true);
    }

    /// <summary>Adds to the current loss cell (the one the next marker reports), then wakes the consumer.</summary>
    private void AddLoss(long count, ulong serial, bool upstream)
    {
        while (true)
        {
            var cell = Volatile.Read(ref _loss);
            Interlocked.Increment(ref cell.Writers);
            // Dekker-style check (both sides use full fences): either we see the consumer's swap and retry on
            // the new cell, or the consumer sees Writers > 0 and waits for us before reading this cell.
            if (!ReferenceEquals(Volatile.Read(ref _loss), cell))
            {
                Interlocked.Decrement(ref cell.Writers);
                continue;
            }
            Interlocked.Add(ref cell.Count, count);
            if (upstream)
            {
                Interlocked.Add(ref cell.Upstream, count);
                Interlocked.Add(ref _upstreamLost, count);
            }
            else
            {
                InterlockedMin(ref cell.First, serial);
                InterlockedMax(ref cell.Last, serial);
            }
            Interlocked.Add(ref _lostTotal.Value, count);
            Interlocked.Decrement(ref cell.Writers);
            break;
        }
        Wake();
    }

    private static void InterlockedMin(ref ulong location, ulong value)
    {
        ulong seen = Volatile.Read(ref location);
        while (value < seen)
        {
            ulong prior = Interlocked.CompareExchange(ref location, value, seen);
            if (prior == seen) return;
            seen = prior;
        }
    }

    private static void InterlockedMax(ref ulong location, ulong value)
    {
        ulong seen = Volatile.Read(ref location);
        while (value > seen)
        {
            ulong prior = Interlocked.CompareExchange(ref location, value, seen);
            if (prior == seen) return;
            seen = prior;
        }
    }

    private void Wake() => _waiter.Wake();

    /// <summary>No record will be enqueued any more (the subscriber left and no producer is still committing to it).</summary>
    public void Complete()
    {
        _completed = true;
        Interlocked.MemoryBarrier();
        Wake();
    }

    // ---------------------------------------------------------------- the consumer (one at a time)

    /// <summary>
    /// The next item: a marker if records were lost since the last one, else the next record. Frees the
    /// slot of the record returned by the previous call.
    /// </summary>
    public bool TryRead(out AuditEvent item)
    {
        Release();
        // Losses first: a loss that happened before a record was queued is reported before that record.
        if (Volatile.Read(ref _lostTotal.Value) != _reportedLost)
        {
            item = TakeLossMarker();
            return true;
        }
        var slot = _slots[_dequeuePos & _mask];
        if (Volatile.Read(ref slot.Sequence) != _dequeuePos + 1)
        {
            item = default;
            return false;
        }
        _held = slot;
        _consumed++;
        item = AuditEvent.ForRecord(new ReadOnlyMemory<byte>(slot.Buffer, 0, slot.Length), slot.Serial, slot.Timestamp, slot.Verdict, slot.Key);
        return true;
    }

    private void Release()
    {
        if (_held is null) return;
        Volatile.Write(ref _held.Sequence, _dequeuePos + _slots.Length);
        _held = null;
        _dequeuePos++;
    }

    private AuditEvent TakeLossMarker()
    {
        var cell = Interlocked.Exchange(ref _loss, _spareLoss);
        var spin = new SpinWait();
        while (Volatile.Read(ref cell.Writers) != 0) spin.SpinOnce();
        long count = Volatile.Read(ref cell.Count), upstream = Volatile.Read(ref cell.Upstream);
        // Only upstream losses: no serial at all, so the range is 0..0.
        var marker = count > upstream
            ? AuditEvent.ForLoss(count, Volatile.Read(ref cell.First), Volatile.Read(ref cell.Last), upstream)
            : AuditEvent.ForLoss(count, 0, 0, upstream);
        cell.Count = 0;
        cell.Upstream = 0;
        cell.First = ulong.MaxValue;
        cell.Last = 0;
        _spareLoss = cell;
        _reportedLost += count;
        _markers++;
        // A loss counted in _lostTotal but still being written into the new cell is reported by the next marker.
        return marker.LostCount > 0 ? marker : TryRead(out var next) ? next : marker;
    }

    /// <summary>Whether an item is ready, or the queue is finished (then <see cref="TryRead"/> may return false for good).</summary>
    private bool ReadyOrDone() =>
        Volatile.Read(ref _lostTotal.Value) != _reportedLost
        || Volatile.Read(ref _slots[(_dequeuePos + (_held is null ? 0 : 1)) & _mask].Sequence) == _dequeuePos + (_held is null ? 0 : 1) + 1
        || _completed;

    /// <summary>Waits until an item may be read; false when the queue is completed and drained.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))] // a consumer that waits often allocates nothing
    public async ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (ReadyOrDone())
            {
                if (!_completed) return true;
                // Completed: anything left is still readable; after that, the end.
                return HasItemAfterHeld();
            }
            var wait = _waiter.Arm();
            Interlocked.MemoryBarrier(); // the arming must be visible before we look again (Dekker with Enqueue)
            if (ReadyOrDone() && _waiter.Disarm()) continue;
            // Else a producer disarmed it first and completes it, or will.
            if (!cancellationToken.CanBeCanceled)
            {
                await wait.ConfigureAwait(false);
                continue;
            }
            using (cancellationToken.UnsafeRegister(static w => ((Waiter)w!).Cancel(), _waiter))
                await wait.ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// The consumer's one reusable wait: armed by the consumer, completed by whoever disarms it first (a
    /// producer, <see cref="Complete"/>, the consumer's own re-check or its cancellation). One consumer at a
    /// time, so one wait at a time.
    /// </summary>
    private sealed class Waiter : IValueTaskSource
    {
        private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
        private int _armed;

        public ValueTask Arm()
        {
            _core.Reset();
            Volatile.Write(ref _armed, 1);
            return new ValueTask(this, _core.Version);
        }

        /// <summary>Takes the armed wait back; false if someone else took it (and completes it).</summary>
        public bool Disarm() => Interlocked.Exchange(ref _armed, 0) == 1;

        public void Wake()
        {
            if (Volatile.Read(ref _armed) == 1 && Disarm()) _core.SetResult(true);
        }

        // The wait ends normally: the caller sees the token and throws.
        public void Cancel()
        {
            if (Disarm()) _core.SetResult(false);
        }

        public void GetResult(short token) => _core.GetResult(token);
        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);
        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }

    private bool HasItemAfterHeld()
    {
        long next = _dequeuePos + (_held is null ? 0 : 1);
        return Volatile.Read(ref _lostTotal.Value) != _reportedLost
            || Volatile.Read(ref _slots[next & _mask].Sequence) == next + 1;
    }

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Explicit, Size = 128)]
    private struct PaddedLong
    {
        [System.Runtime.InteropServices.FieldOffset(64)] public long Value;
    }
}
