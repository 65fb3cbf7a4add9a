using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Filter.VM;

namespace Filter.Audit.Pipeline;

/// <summary>
/// A producer: the audit state of one thread (or process context). It holds exactly one reusable record;
/// a syscall goes <see cref="Open"/> → <see cref="SubmitArguments"/> → <see cref="Close"/>, and in steady
/// state that allocates nothing. Not thread-safe: use one context per producing thread.
/// </summary>
/// <remarks>
/// Misuse is a bug in the syscall layer and throws <see cref="InvalidOperationException"/>: opening while a
/// record is in flight, submitting or closing with none, submitting twice, or emitting a signal or a
/// replayed record while a syscall record is open. The context stays usable (a failed call changes nothing).
/// </remarks>
public sealed class AuditContext
{
    private enum State : byte { Idle, Open, OpenUnaudited }

    private readonly AuditPipeline _pipeline;
    private State _state;
    private bool _argumentsSubmitted;
    private uint _arch, _syscall;

    // Per subscriber index: [2i] records its filter wanted, [2i+1] records it filtered out; their sum is the
    // records produced while it was subscribed (one increment per record and subscriber). Written only by
    // this context's thread; read (racily, exactly once producers are quiet) by Stats.
    private long[] _counters = new long[16];

    private long _commitSequence;

    internal AuditContext(AuditPipeline pipeline) => _pipeline = pipeline;

    /// <summary>Odd while this context is inside a commit (see <see cref="AuditPipeline"/>'s grace period).</summary>
    internal long CommitSequence => Volatile.Read(ref _commitSequence);

    /// <summary>Whether a record is in flight.</summary>
    public bool IsOpen => _state != State.Idle;

    /// <summary>Records this context closed and committed (the per-process switch's skipped ones excluded).</summary>
    public long Committed { get; private set; }

    /// <summary>Records not produced because their process has auditing switched off.</summary>
    public long SkippedByProcess { get; private set; }

    /// <summary>
    /// Opens the context's record before the syscall runs, and flags it as not yet instrumented. Returns
    /// false (and the record will be discarded at close) when auditing is off for <paramref name="pid"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">A record is already in flight in this context.</exception>
    public bool Open(uint arch, uint syscall, uint pid, in AuditCredentials credentials,
        ReadOnlySpan<byte> comm = default, ReadOnlySpan<byte> exe = default)
    {
        if (_state != State.Idle)
            throw AlreadyInFlight(_syscall);
        _argumentsSubmitted = false;
        _arch = arch;
        _syscall = syscall;
        if (!_pipeline.IsAudited(pid))
        {
            _state = State.OpenUnaudited;
            return false;
        }
        // Every header byte is written between here and Close (arguments at submit, or zeroed at close
        // without one), so nothing of the previous record survives and no clearing pass is needed.
        ref byte r = ref MemoryMarshal.GetArrayDataReference(_record);
        Put32(ref r, RecordLayout.Arch, arch);
        Put32(ref r, RecordLayout.Syscall, syscall);
        Put32(ref r, RecordLayout.Pid, pid);
        WriteCredentials(ref r, credentials);
        Put32(ref r, RecordLayout.Success, 0); // success (set at close), type = syscall, 2 bytes of padding
        Put32(ref r, RecordLayout.Sig, 0);
        _commLength = CopyComm(ref r, comm);
        _exeLength = CopyString(ref r, ExeAt, exe, RecordLayout.ExeMaxLength);
        _state = State.Open;
        return true;
    }

    /// <summary>The syscall's arguments; clears the uninstrumented flag.</summary>
    /// <exception cref="InvalidOperationException">No record is open, or the arguments were already submitted.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SubmitArguments(ulong a0, ulong a1 = 0, ulong a2 = 0, ulong a3 = 0, ulong a4 = 0, ulong a5 = 0)
    {
        if (_state == State.Idle) throw Misuse("no record is open in this context");
        if (_argumentsSubmitted) throw AlreadySubmitted(_syscall);
        _argumentsSubmitted = true;
        if (_state != State.Open) return;
        ref byte r = ref MemoryMarshal.GetArrayDataReference(_record);
        Put64(ref r, RecordLayout.A0, a0);
        Put64(ref r, RecordLayout.A1, a1);
        Put64(ref r, RecordLayout.A2, a2);
        Put64(ref r, RecordLayout.A3, a3);
        Put64(ref r, RecordLayout.A4, a4);
        Put64(ref r, RecordLayout.A5, a5);
    }

    /// <summary>
    /// Tags the return value, runs every subscriber's filter and commits the record to the subscribers
    /// that want it. A record closed without <see cref="SubmitArguments"/> reveals an uninstrumented
    /// syscall: the pipeline counts it and reports it once per syscall number; the record is still
    /// committed (with zero arguments). Returns how many subscribers the record was queued for.
    /// </summary>
    /// <exception cref="InvalidOperationException">No record is open.</exception>
    public int Close(long exit, bool success, long timestamp)
    {
        switch (_state)
        {
            case State.Idle: throw Misuse("no record is open in this context");
            case State.OpenUnaudited:
                _state = State.Idle;
                SkippedByProcess++;
                return 0;
        }
        _state = State.Idle;
        ref byte r = ref MemoryMarshal.GetArrayDataReference(_record);
        if (!_argumentsSubmitted)
        {
            Unsafe.InitBlockUnaligned(ref Unsafe.Add(ref r, RecordLayout.A0), 0, RecordLayout.A5 + 8 - RecordLayout.A0);
            _pipeline.ReportUninstrumented(_arch, _syscall);
        }
        Put64(ref r, RecordLayout.Exit, (ulong)exit);
        Unsafe.Add(ref r, RecordLayout.Success) = success ? (byte)1 : (byte)0;
        return Commit(FinishStrings(ref r), timestamp);
    }

    /// <summary>
    /// A signal delivery: commits a record of type <c>signal</c> with <c>sig</c> set (syscall and
    /// arguments 0), so filters such as <c>type == signal &amp;&amp; sig == SIGSEGV</c> select it. Returns how
    /// many subscribers it was queued for (0 also when auditing is off for <paramref name="pid"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">A syscall record is in flight in this context.</exception>
    public int Signal(uint pid, uint sig, in AuditCredentials credentials, long timestamp, uint arch = 0,
        ReadOnlySpan<byte> comm = default, ReadOnlySpan<byte> exe = default)
    {
        if (_state != State.Idle) throw new InvalidOperationException($"a record (syscall {_syscall}) is in flight in this context; close it before a signal");
        if (!_pipeline.IsAudited(pid))
        {
            SkippedByProcess++;
            return 0;
        }
        ref byte r = ref MemoryMarshal.GetArrayDataReference(_record);
        Unsafe.InitBlockUnaligned(ref r, 0, RecordLayout.HeaderSize);
        Unsafe.Add(ref r, RecordLayout.Type) = RecordLayout.EventTypeSignal;
        Put32(ref r, RecordLayout.Sig, sig);
        Put32(ref r, RecordLayout.Arch, arch);
        Put32(ref r, RecordLayout.Pid, pid);
        WriteCredentials(ref r, credentials);
        _commLength = CopyComm(ref r, comm);
        _exeLength = CopyString(ref r, ExeAt, exe, RecordLayout.ExeMaxLength);
        return Commit(FinishStrings(ref r), timestamp);
    }

    /// <summary>
    /// Commits a record built elsewhere (a replayed log, a kernel reader): the same filters, queues and
    /// accounting as a live record. The per-process switch applies to the record's <c>pid</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The record is shorter than the header.</exception>
    /// <exception cref="InvalidOperationException">A syscall record is in flight in this context.</exception>
    public int CommitRecord(ReadOnlySpan<byte> record, long timestamp)
    {
        if (_state != State.Idle) throw new InvalidOperationException($"a record (syscall {_syscall}) is in flight in this context");
        if (record.Length < RecordLayout.HeaderSize)
            throw new ArgumentException($"a record is at least {RecordLayout.HeaderSize} bytes; got {record.Length}", nameof(record));
        if (!_pipeline.IsAudited(BinaryPrimitives.ReadUInt32LittleEndian(record[RecordLayout.Pid..])))
        {
            SkippedByProcess++;
            return 0;
        }
        return Commit(record, timestamp);
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
            foreach (var entry in _pipeline.Snapshot) entry.Subscription.Queue.RecordUpstreamLoss(count);
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
    private int _commLength, _exeLength;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put32(ref byte record, int offset, uint value) =>
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref record, offset), BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put64(ref byte record, int offset, ulong value) =>
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref record, offset), BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int CopyString(ref byte record, int at, ReadOnlySpan<byte> value, int max)
    {
        int n = Math.Min(value.Length, max);
        Copy(ref Unsafe.Add(ref record, at), ref MemoryMarshal.GetReference(value), n);
        return n;
    }

    /// <summary>
    /// Copies n bytes. Strings of up to 64 bytes (every comm, most paths) are copied with two overlapping
    /// moves of the largest size that fits instead of a call to the general copy, which costs more than the
    /// copy itself.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy(ref byte to, ref byte from, int n)
    {
        if (n <= 16)
        {
            if (n >= 8)
            {
                Unsafe.WriteUnaligned(ref to, Unsafe.ReadUnaligned<ulong>(ref from));
                Unsafe.WriteUnaligned(ref Unsafe.Add(ref to, n - 8), Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref from, n - 8)));
            }
            else if (n >= 4)
            {
                Unsafe.WriteUnaligned(ref to, Unsafe.ReadUnaligned<uint>(ref from));
                Unsafe.WriteUnaligned(ref Unsafe.Add(ref to, n - 4), Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref from, n - 4)));
            }
            else if (n > 0)
            {
                to = from;
                Unsafe.Add(ref to, n - 1) = Unsafe.Add(ref from, n - 1);
                Unsafe.Add(ref to, n / 2) = Unsafe.Add(ref from, n / 2);
            }
        }
        else if (n <= 32)
        {
            Unsafe.WriteUnaligned(ref to, Unsafe.ReadUnaligned<Vector128<byte>>(ref from));
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref to, n - 16), Unsafe.ReadUnaligned<Vector128<byte>>(ref Unsafe.Add(ref from, n - 16)));
        }
        else if (n <= 64)
        {
            Unsafe.WriteUnaligned(ref to, Unsafe.ReadUnaligned<Vector256<byte>>(ref from));
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref to, n - 32), Unsafe.ReadUnaligned<Vector256<byte>>(ref Unsafe.Add(ref from, n - 32)));
        }
        else
        {
            Unsafe.CopyBlockUnaligned(ref to, ref from, (uint)n);
        }
    }

    /// <summary>
    /// comm, with zeros after it to the end of its slot: the committed record includes the whole slot, which
    /// must not carry the end of a previous record's longer comm to subscribers. The slot (15 bytes) is
    /// cleared with one 16-byte store; its 16th byte is the first of exe, written next.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int CopyComm(ref byte record, ReadOnlySpan<byte> comm)
    {
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref record, CommAt), Vector128<byte>.Zero);
        return CopyString(ref record, CommAt, comm, RecordLayout.CommMaxLength);
    }

    /// <summary>Writes the string descriptors; returns the record: header, comm's slot, then exe (as <see cref="RecordBuilder.Build"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ReadOnlySpan<byte> FinishStrings(ref byte record)
    {
        Put32(ref record, RecordLayout.CommDescriptor, (uint)CommAt | ((uint)_commLength << 16));
        Put32(ref record, RecordLayout.ExeDescriptor, (uint)ExeAt | ((uint)_exeLength << 16));
        return new ReadOnlySpan<byte>(_record, 0, ExeAt + _exeLength);
    }

    /// <summary>
    /// The eleven ids, one 4-byte store each. Not one 44-byte block copy: callers typically build the
    /// credentials just before <see cref="Open"/>, one store per field, and a wide load of fields just stored
    /// that way cannot be forwarded from the store buffer (in a profile of such a caller the block copy's
    /// load drew a fifth of the samples); field by field costs no more otherwise.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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
    private static InvalidOperationException AlreadySubmitted(uint syscall) =>
        new($"the arguments of syscall {syscall} were already submitted");

    /// <summary>
    /// The commit: one snapshot read, one filter run per subscriber; a serial and a copy only for a record
    /// someone wants. Between the two writes of the commit sequence this context may be using a snapshot
    /// that is no longer current (the pipeline's grace period waits for that).
    /// </summary>
    private int Commit(ReadOnlySpan<byte> bytes, long timestamp)
    {
        Volatile.Write(ref _commitSequence, _commitSequence + 1);
        try
        {
            return Dispatch(bytes, timestamp);
        }
        finally
        {
            Volatile.Write(ref _commitSequence, _commitSequence + 1);
        }
    }

    /// <summary>The loop of <see cref="Commit"/>: every subscriber's filter; a serial and a copy only where wanted.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Dispatch(ReadOnlySpan<byte> bytes, long timestamp)
    {
        var entries = _pipeline.Snapshot;
        var counters = _counters;
        var record = new Record(bytes);
        ulong serial = 0;
        int queued = 0;
        foreach (var entry in entries)
        {
            int i = entry.CounterSlot;
            if (i + 1 >= counters.Length) counters = GrowCounters(i + 2);
            if (entry.Filter.Run(record) == 0)
            {
                counters[i + 1]++;
                continue;
            }
            counters[i]++;
            if (Deliver(entry.Subscription.Queue, bytes, ref serial, timestamp)) queued++;
        }
        Committed++;
        return queued;
    }

    /// <summary>A record this subscriber wants: its serial (the first time), then a copy into the queue.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool Deliver(SubscriberQueue queue, ReadOnlySpan<byte> bytes, ref ulong serial, long timestamp)
    {
        if (serial == 0) serial = _pipeline.NextSerial();
        return queue.TryEnqueue(bytes, serial, timestamp);
    }

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
        produced += wanted + dropped;
        filteredOut += dropped;
    }
}
