using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Filter.VM;

namespace Filter.Audit.Pipeline;

/// <summary>
/// A producer: the audit state of one thread (or process context). It holds exactly one reusable record,
/// tagged with the thread's identity (<see cref="SetTask"/>); a syscall goes <see cref="Open(uint, uint)"/> →
/// <see cref="SubmitArguments"/> → <see cref="Close"/>, and in steady state that allocates nothing. Not
/// thread-safe: use one context per producing thread.
/// </summary>
/// <remarks>
/// Misuse is a bug in the syscall layer and throws <see cref="InvalidOperationException"/>: opening while a
/// record is in flight, submitting or closing with none, submitting twice, emitting a signal or a replayed
/// record while a syscall record is open, or opening before any task was set. The context stays usable (a
/// failed call changes nothing).
/// </remarks>
public sealed class AuditContext
{
    /// <summary>
    /// Where the context is in a record's lifecycle. One field for what would otherwise be three (open?
    /// audited? arguments submitted?), so that each call checks it once. Every open state is followed by
    /// its submitted counterpart.
    /// </summary>
    private enum State : byte
    {
        NoTask, Idle,
        // Open: arguments pending, then submitted.
        Open, Submitted,
        // Open, but decided at open: no filter of the snapshot current then can match the record's arch and
        // syscall, so every one drops it without running, and neither its arguments nor its result are written.
        Dropped, DroppedSubmitted,
        // Open by a process whose auditing is off: nothing is written, nothing produced.
        Unaudited, UnauditedSubmitted,
    }

    private readonly AuditPipeline _pipeline;
    private State _state;
    private uint _pid;

    // What Open needs from the pipeline, refreshed when the snapshot changes (every control operation
    // publishes a new one, the per-process switch included): the snapshot, and a counter array long enough
    // for its subscribers. _auditedView is _view while the task is audited, null while it is not (looked
    // up again when the task changes), so that Open's usual case is one comparison.
    private AuditPipeline.Snapshot? _view, _auditedView;
    // Records dropped at open (State.Dropped) are counted here, once for all of _view's subscribers. Those
    // dropped since _view was taken (_droppedAtOpen - _droppedAtOpenFlushed) go to each one's filtered-out
    // counter when the view changes, and ReadCounters adds them until then.
    private long _droppedAtOpen, _droppedAtOpenFlushed;
    // Records that went through the commit (Committed counts these and those dropped at open).
    private long _committed;

    // Per subscriber index: [2i] records its filter wanted, [2i+1] records it filtered out; their sum is the
    // records produced while it was subscribed (one increment per record and subscriber). Written only by
    // this context's thread; read (racily, exactly once producers are quiet) by Stats.
    private long[] _counters = new long[16];

    private long _commitSequence;

    internal AuditContext(AuditPipeline pipeline) => _pipeline = pipeline;

    /// <summary>Odd while this context is inside a commit (see <see cref="AuditPipeline"/>'s grace period).</summary>
    internal long CommitSequence => Volatile.Read(ref _commitSequence);

    /// <summary>Whether a record is in flight.</summary>
    public bool IsOpen => _state >= State.Open;

    /// <summary>Records this context closed and committed (the per-process switch's skipped ones excluded).</summary>
    public long Committed => _committed + _droppedAtOpen;

    /// <summary>Records not produced because their process has auditing switched off.</summary>
    public long SkippedByProcess { get; private set; }

    /// <summary>
    /// The task (thread) this context serves: its pid, credentials, comm and exe, which tag every record
    /// it produces from now on. Call it when the context starts serving a thread and whenever the identity
    /// changes (setuid, execve, a new comm), not per syscall: like the kernel's audit context, which reads
    /// them from the task, the context keeps them in its record and a syscall only writes what is its own.
    /// Allowed while a record is open (an execve or setuid changes the identity of its own record: records
    /// show the task as it is when they close); the per-process switch was decided at open.
    /// </summary>
    public void SetTask(uint pid, in AuditCredentials credentials, ReadOnlySpan<byte> comm = default, ReadOnlySpan<byte> exe = default)
    {
        ref byte r = ref MemoryMarshal.GetArrayDataReference(_record);
        _pid = pid;
        _auditedView = _pipeline.IsAudited(pid) ? _view : null;
        Put32(ref r, RecordLayout.Pid, pid);
        WriteCredentials(ref r, credentials);
        // The committed record includes comm's whole slot, which must not keep the end of a longer earlier comm.
        var commSlot = _record.AsSpan(CommAt, RecordLayout.CommMaxLength);
        commSlot.Clear();
        int commLength = Math.Min(comm.Length, RecordLayout.CommMaxLength);
        comm[..commLength].CopyTo(commSlot);
        int exeLength = Math.Min(exe.Length, RecordLayout.ExeMaxLength);
        exe[..exeLength].CopyTo(_record.AsSpan(ExeAt));
        Put32(ref r, RecordLayout.CommDescriptor, (uint)CommAt | ((uint)commLength << 16));
        Put32(ref r, RecordLayout.ExeDescriptor, (uint)ExeAt | ((uint)exeLength << 16));
        _length = ExeAt + exeLength;
        if (_state == State.NoTask) _state = State.Idle;
    }

    /// <summary>The task's new credentials (a setuid-family call), keeping its pid, comm and exe.</summary>
    /// <exception cref="InvalidOperationException">No task was set (<see cref="SetTask"/>).</exception>
    public void SetCredentials(in AuditCredentials credentials)
    {
        if (_state == State.NoTask) throw NoTask();
        WriteCredentials(ref MemoryMarshal.GetArrayDataReference(_record), credentials);
    }

    /// <summary>
    /// Opens the context's record before the syscall runs, tagged with the syscall and the context's task
    /// (<see cref="SetTask"/>), and flags it as not yet instrumented. Returns false (and the record will
    /// be discarded at close) when auditing is off for the task's pid.
    /// </summary>
    /// <exception cref="InvalidOperationException">A record is already in flight, or no task was set.</exception>
    /// <remarks>
    /// The usual case (a task set, auditing on, no control operation since the context's last open) is
    /// small enough to be inlined into the syscall layer, as the kernel's <c>audit_syscall_entry</c> is:
    /// everything else goes out of line.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Open(uint arch, uint syscall)
    {
        var snapshot = _pipeline.Current;
        if (_state != State.Idle || snapshot != _auditedView) return OpenUnusual(arch, syscall, snapshot);
        OpenAudited(arch, syscall, snapshot);
        return true;
    }

    /// <summary>
    /// The syscall's own fields are written as far as they will be read: arch and syscall here, arguments at
    /// submit (zeroed at close without them), the result at close; for a record dropped at open, only these
    /// two. The task's fields stay from SetTask. No clearing pass is needed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void OpenAudited(uint arch, uint syscall, AuditPipeline.Snapshot snapshot)
    {
        WriteSyscall(arch, syscall);
        _state = snapshot.Matches.MayMatch(arch, syscall) ? State.Open : State.Dropped;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WriteSyscall(uint arch, uint syscall) =>
        Put64(ref MemoryMarshal.GetArrayDataReference(_record), RecordLayout.Arch, (ulong)syscall << 32 | arch); // arch, then syscall

    /// <summary>Open's other cases: misuse, a new snapshot, a task whose auditing is off.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool OpenUnusual(uint arch, uint syscall, AuditPipeline.Snapshot snapshot)
    {
        if (_state != State.Idle)
            throw _state == State.NoTask ? NoTask() : AlreadyInFlight(Syscall);
        if (snapshot != _view) Refresh(snapshot);
        if (_auditedView is null)
        {
            WriteSyscall(arch, syscall); // for misuse messages
            _state = State.Unaudited;
            return false;
        }
        OpenAudited(arch, syscall, snapshot);
        return true;
    }

    /// <summary>
    /// The snapshot changed (a control operation): the records dropped at open under the old one go to its
    /// subscribers' filtered-out counters, and the task's switch is looked up again.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Refresh(AuditPipeline.Snapshot snapshot)
    {
        var counters = CountersFor(snapshot);
        long pending = _droppedAtOpen - _droppedAtOpenFlushed;
        if (_view is { } old && pending != 0)
        {
            foreach (int slot in old.FilteredOutSlots) counters[slot] += pending;
            _droppedAtOpenFlushed = _droppedAtOpen;
        }
        _view = snapshot;
        _auditedView = _pipeline.IsAudited(_pid) ? snapshot : null;
    }

    /// <summary>
    /// <see cref="SetTask"/> then <see cref="Open(uint, uint)"/>, for a syscall layer that has the identity
    /// at hand on every call (one thread serving many processes). Writing the identity costs more than the
    /// rest of a dropped record's path; a layer with a context per thread calls <see cref="SetTask"/> only
    /// when it changes.
    /// </summary>
    /// <exception cref="InvalidOperationException">A record is already in flight (nothing is changed).</exception>
    public bool Open(uint arch, uint syscall, uint pid, in AuditCredentials credentials,
        ReadOnlySpan<byte> comm = default, ReadOnlySpan<byte> exe = default)
    {
        if (_state >= State.Open) throw AlreadyInFlight(Syscall);
        SetTask(pid, credentials, comm, exe);
        return Open(arch, syscall);
    }

    /// <summary>The syscall's arguments; clears the uninstrumented flag.</summary>
    /// <exception cref="InvalidOperationException">No record is open, or the arguments were already submitted.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SubmitArguments(ulong a0, ulong a1 = 0, ulong a2 = 0, ulong a3 = 0, ulong a4 = 0, ulong a5 = 0)
    {
        var state = _state;
        if (state == State.Open)
        {
            _state = State.Submitted;
            ref byte r = ref MemoryMarshal.GetArrayDataReference(_record);
            Put64(ref r, RecordLayout.A0, a0);
            Put64(ref r, RecordLayout.A1, a1);
            Put64(ref r, RecordLayout.A2, a2);
            Put64(ref r, RecordLayout.A3, a3);
            Put64(ref r, RecordLayout.A4, a4);
            Put64(ref r, RecordLayout.A5, a5);
        }
        else if (state is State.Dropped or State.Unaudited) _state = state + 1; // nobody reads them: the flag only
        else throw SubmitMisuse();
    }

    /// <summary>
    /// Tags the return value, runs every subscriber's filter and commits the record to the subscribers
    /// that want it. A record closed without <see cref="SubmitArguments"/> reveals an uninstrumented
    /// syscall: the pipeline counts it and reports it once per syscall number; the record is still
    /// committed (with zero arguments). Returns how many subscribers the record was queued for.
    /// </summary>
    /// <exception cref="InvalidOperationException">No record is open.</exception>
    /// <remarks>A record dropped at open is closed inline; every other goes out of line.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Close(long exit, bool success, long timestamp)
    {
        if (_state != State.DroppedSubmitted) return CloseRecord(exit, success, timestamp);
        // Every filter of the snapshot at open returns 0 for this arch and syscall: counted as filtered out
        // by each, as if each had run then. Nothing is queued, so this needs no commit window.
        _state = State.Idle;
        _droppedAtOpen++;
        return 0;
    }

    /// <summary>Close's other cases: a record its filters decide now, one closed without arguments, misuse, auditing off.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int CloseRecord(long exit, bool success, long timestamp)
    {
        var state = _state;
        if (state < State.Open) throw Misuse("no record is open in this context");
        _state = State.Idle;
        if (state is State.Unaudited or State.UnauditedSubmitted)
        {
            SkippedByProcess++;
            return 0;
        }
        if (state is State.Open or State.Dropped) Uninstrumented();
        if (state is State.Dropped)
        {
            _droppedAtOpen++;
            return 0;
        }
        ref byte r = ref MemoryMarshal.GetArrayDataReference(_record);
        Put64(ref r, RecordLayout.Exit, (ulong)exit);
        Put64(ref r, RecordLayout.Success, success ? 1UL : 0UL); // success; type = syscall, padding, sig = 0
        return Commit(new ReadOnlySpan<byte>(_record, 0, _length), timestamp, syscallRecord: true);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private InvalidOperationException SubmitMisuse() =>
        _state is State.Submitted or State.DroppedSubmitted or State.UnauditedSubmitted
            ? AlreadySubmitted(Syscall)
            : Misuse("no record is open in this context");

    /// <summary>Closed without arguments: they are zero, and the pipeline hears of the syscall.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Uninstrumented()
    {
        Unsafe.InitBlockUnaligned(ref _record[RecordLayout.A0], 0, RecordLayout.A5 + 8 - RecordLayout.A0);
        _pipeline.ReportUninstrumented(Arch, Syscall);
    }

    /// <summary>
    /// A signal delivered to the context's task: commits a record of type <c>signal</c> with <c>sig</c>
    /// set (syscall, exit and arguments 0), so filters such as <c>type == signal &amp;&amp; sig == SIGSEGV</c>
    /// select it. Returns how many subscribers it was queued for (0 also when auditing is off for the task).
    /// </summary>
    /// <exception cref="InvalidOperationException">A syscall record is in flight, or no task was set.</exception>
    public int Signal(uint sig, long timestamp, uint arch = 0)
    {
        if (_state != State.Idle) throw _state == State.NoTask ? NoTask() : SignalInFlight(Syscall);
        if (!_pipeline.IsAudited(_pid))
        {
            SkippedByProcess++;
            return 0;
        }
        ref byte r = ref MemoryMarshal.GetArrayDataReference(_record);
        Unsafe.InitBlockUnaligned(ref r, 0, RecordLayout.A5 + 8); // arch, syscall, exit, arguments
        Put32(ref r, RecordLayout.Arch, arch);
        Put64(ref r, RecordLayout.Success, (ulong)RecordLayout.EventTypeSignal << 8 | (ulong)sig << 32);
        return Commit(new ReadOnlySpan<byte>(_record, 0, _length), timestamp, syscallRecord: false);
    }

    /// <summary><see cref="SetTask"/> then <see cref="Signal(uint, long, uint)"/>.</summary>
    /// <exception cref="InvalidOperationException">A syscall record is in flight in this context (nothing is changed).</exception>
    public int Signal(uint pid, uint sig, in AuditCredentials credentials, long timestamp, uint arch = 0,
        ReadOnlySpan<byte> comm = default, ReadOnlySpan<byte> exe = default)
    {
        if (_state >= State.Open) throw SignalInFlight(Syscall);
        SetTask(pid, credentials, comm, exe);
        return Signal(sig, timestamp, arch);
    }

    /// <summary>
    /// Commits a record built elsewhere (a replayed log, a kernel reader): the same filters, queues and
    /// accounting as a live record. The per-process switch applies to the record's <c>pid</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The record is shorter than the header.</exception>
    /// <exception cref="InvalidOperationException">A syscall record is in flight in this context.</exception>
    public int CommitRecord(ReadOnlySpan<byte> record, long timestamp)
    {
        if (_state >= State.Open) throw new InvalidOperationException($"a record (syscall {Syscall}) is in flight in this context");
        if (record.Length < RecordLayout.HeaderSize)
            throw new ArgumentException($"a record is at least {RecordLayout.HeaderSize} bytes; got {record.Length}", nameof(record));
        if (!_pipeline.IsAudited(BinaryPrimitives.ReadUInt32LittleEndian(record[RecordLayout.Pid..])))
        {
            SkippedByProcess++;
            return 0;
        }
        return Commit(record, timestamp, syscallRecord: false);
    }

    /// <summary>
    /// Announces <paramref name="count"/> records lost before they reached the pipeline (the kernel's
    /// <c>lost</c> counter rose): every current subscriber gets them in its next record-failed marker
    /// (<see cref="AuditEvent.UpstreamLostCount"/>). They were never produced, so they stay outside each
    /// subscriber's accounting identity (<see cref="SubscriberStats.UpstreamLost"/>).
    /// </summary>
    public void ReportUpstreamLoss(long count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        Volatile.Write(ref _commitSequence, _commitSequence + 1);
        try
        {
            foreach (var entry in _pipeline.Current.Entries) entry.Subscription.Queue.RecordUpstreamLoss(count);
        }
        finally
        {
            Volatile.Write(ref _commitSequence, _commitSequence + 1);
        }
    }

    // ---------------------------------------------------------------- writing the record
    // The record is written in place, at the fixed offsets of RecordLayout (little-endian), without a
    // builder: every offset is a constant inside the header and every string length is clamped to its
    // field's maximum, so each write is within _record (MaxRecordSize bytes) and needs no bounds check.

    private const int CommAt = RecordLayout.HeaderSize, ExeAt = CommAt + RecordLayout.CommMaxLength;

    private readonly byte[] _record = new byte[RecordLayout.MaxRecordSize];
    private int _length = ExeAt;

    private uint Arch => BinaryPrimitives.ReadUInt32LittleEndian(_record.AsSpan(RecordLayout.Arch));
    private uint Syscall => BinaryPrimitives.ReadUInt32LittleEndian(_record.AsSpan(RecordLayout.Syscall));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put32(ref byte record, int offset, uint value) =>
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref record, offset), BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put64(ref byte record, int offset, ulong value) =>
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref record, offset), BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value));

    /// <summary>The eleven ids, each at its offset.</summary>
    private static void WriteCredentials(ref byte r, in AuditCredentials c)
    {
        Put32(ref r, RecordLayout.Ppid, c.Ppid);
        Put32(ref r, RecordLayout.Auid, c.Auid);
        Put32(ref r, RecordLayout.Uid, c.Uid);
        Put32(ref r, RecordLayout.Gid, c.Gid);
        Put32(ref r, RecordLayout.Euid, c.Euid);
        Put32(ref r, RecordLayout.Suid, c.Suid);
        Put32(ref r, RecordLayout.Fsuid, c.Fsuid);
        Put32(ref r, RecordLayout.Egid, c.Egid);
        Put32(ref r, RecordLayout.Sgid, c.Sgid);
        Put32(ref r, RecordLayout.Fsgid, c.Fsgid);
        Put32(ref r, RecordLayout.Ses, c.Ses);
    }

    // Misuse exceptions are built out of line: the hot paths carry no message formatting.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static InvalidOperationException Misuse(string message) => new(message);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static InvalidOperationException AlreadyInFlight(uint syscall) =>
        new($"a record (syscall {syscall}) is already in flight in this context; close it first");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static InvalidOperationException NoTask() =>
        new("this context serves no task yet; call SetTask (or an Open overload that takes the identity) first");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static InvalidOperationException SignalInFlight(uint syscall) =>
        new($"a record (syscall {syscall}) is in flight in this context; close it before a signal");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static InvalidOperationException AlreadySubmitted(uint syscall) =>
        new($"the arguments of syscall {syscall} were already submitted");

    /// <summary>
    /// The commit: one snapshot read, one filter run per subscriber; a serial and a copy only for a record
    /// someone wants. The filters run outside the commit window (they touch no queue), so a record no
    /// subscriber wants, the common case, is counted and done without entering it: the window's
    /// try/finally alone cost the JIT's code about 3 ns per record. A syscall record from
    /// <see cref="Open(uint, uint)"/> skips the filters whose own syscall match table rules it out.
    /// </summary>
    private int Commit(ReadOnlySpan<byte> bytes, long timestamp, bool syscallRecord)
    {
        var snapshot = _pipeline.Current;
        var entries = snapshot.Entries;
        var record = new Record(bytes);
        bool checkTables = syscallRecord && snapshot.CheckEach;
        for (int k = 0; k < entries.Length; k++)
            if (Verdict(entries[k], record, checkTables) is not 0 and uint verdict)
                return CommitWanted(bytes, timestamp, snapshot, k, verdict, syscallRecord);
        var counters = CountersFor(snapshot);
        foreach (int slot in snapshot.FilteredOutSlots) counters[slot]++;
        _committed++;
        return 0;
    }

    /// <summary>
    /// Entry <paramref name="wanted"/> of <paramref name="tested"/> wants the record (its filter's verdict:
    /// <paramref name="wantedVerdict"/>), the entries before it do not. Queues are written only inside the commit window (between the two writes of the commit
    /// sequence), with a snapshot read inside it: the pipeline's grace period waits for any producer that
    /// may still be using one no longer current. If the snapshot changed since the filters ran, the record
    /// is decided again, wholly, under the current one: it is tested against one snapshot.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int CommitWanted(ReadOnlySpan<byte> bytes, long timestamp, AuditPipeline.Snapshot tested, int wanted, uint wantedVerdict, bool syscallRecord)
    {
        Volatile.Write(ref _commitSequence, _commitSequence + 1);
        try
        {
            var snapshot = _pipeline.Current;
            int decided = snapshot == tested ? wanted + 1 : 0; // entries already tested: the last of them wants it
            var counters = CountersFor(snapshot);
            var record = new Record(bytes);
            var entries = snapshot.Entries;
            bool checkTables = syscallRecord && snapshot.CheckEach;
            ulong serial = 0;
            int queued = 0;
            for (int k = 0; k < entries.Length; k++)
            {
                var entry = entries[k];
                int i = entry.CounterSlot;
                uint verdict = k < decided ? (k == wanted ? wantedVerdict : 0) : Verdict(entry, record, checkTables);
                if (verdict == 0)
                {
                    counters[i + 1]++;
                    continue;
                }
                counters[i]++;
                if (Deliver(entry, bytes, ref serial, timestamp, verdict)) queued++;
            }
            _committed++;
            return queued;
        }
        finally
        {
            Volatile.Write(ref _commitSequence, _commitSequence + 1);
        }
    }

    /// <summary>The entry's filter's verdict (0: filtered out); not run (0) when its table rules the (syscall) record out.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Verdict(AuditPipeline.Entry entry, Record record, bool checkTable) =>
        !checkTable || entry.Matches.MayMatch(record.Arch, record.Syscall) ? entry.Filter.Run(record) : 0;

    /// <summary>A record this subscriber wants: its serial (the first time), then a copy, with the verdict and its key, into the queue.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool Deliver(AuditPipeline.Entry entry, ReadOnlySpan<byte> bytes, ref ulong serial, long timestamp, uint verdict)
    {
        if (serial == 0) serial = _pipeline.NextSerial();
        var keys = entry.Filter.Program.Keys; // a verified program's verdicts are at most its keys' count; any other filter's get ""
        return entry.Subscription.Queue.TryEnqueue(bytes, serial, timestamp, verdict, verdict <= (uint)keys.Count ? keys[(int)verdict - 1] : "");
    }

    /// <summary>This context's counters, long enough for every slot of <paramref name="snapshot"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long[] CountersFor(AuditPipeline.Snapshot snapshot)
    {
        var counters = _counters;
        return counters.Length >= snapshot.CounterLength ? counters : GrowCounters(snapshot.CounterLength);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private long[] GrowCounters(int needed)
    {
        var grown = new long[Math.Max(needed, _counters.Length * 2)];
        Array.Copy(_counters, grown, _counters.Length);
        Volatile.Write(ref _counters, grown);
        return grown;
    }

    internal void ReadCounters(int index, ref long produced, ref long filteredOut)
    {
        var counters = Volatile.Read(ref _counters);
        int i = index * 2;
        if (i + 1 >= counters.Length) return;
        long wanted = Volatile.Read(ref counters[i]), dropped = Volatile.Read(ref counters[i + 1]);
        if (Volatile.Read(ref _view) is { } view && Array.IndexOf(view.FilteredOutSlots, i + 1) >= 0)
            dropped += Volatile.Read(ref _droppedAtOpen) - Volatile.Read(ref _droppedAtOpenFlushed);
        produced += wanted + dropped;
        filteredOut += dropped;
    }
}
