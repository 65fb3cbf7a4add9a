using System.Buffers.Binary;
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
    private readonly RecordBuilder _builder = new();
    private State _state;
    private bool _argumentsSubmitted;
    private uint _arch, _syscall;

    // Per subscriber index: [2i] records produced while it was subscribed, [2i+1] of those filtered out.
    // Written only by this context's thread; read (racily, exactly once producers are quiet) by Stats.
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
            throw new InvalidOperationException($"a record (syscall {_syscall}) is already in flight in this context; close it first");
        _argumentsSubmitted = false;
        _arch = arch;
        _syscall = syscall;
        if (!_pipeline.IsAudited(pid))
        {
            _state = State.OpenUnaudited;
            return false;
        }
        var b = _builder;
        b.Clear();
        b.SetU32(RecordLayout.Arch, arch);
        b.SetU32(RecordLayout.Syscall, syscall);
        b.SetU32(RecordLayout.Pid, pid);
        WriteCredentials(b, credentials);
        if (!comm.IsEmpty) b.SetComm(comm);
        if (!exe.IsEmpty) b.SetExe(exe);
        _state = State.Open;
        return true;
    }

    /// <summary>The syscall's arguments; clears the uninstrumented flag.</summary>
    /// <exception cref="InvalidOperationException">No record is open, or the arguments were already submitted.</exception>
    public void SubmitArguments(ulong a0, ulong a1 = 0, ulong a2 = 0, ulong a3 = 0, ulong a4 = 0, ulong a5 = 0)
    {
        if (_state == State.Idle) throw new InvalidOperationException("no record is open in this context");
        if (_argumentsSubmitted) throw new InvalidOperationException($"the arguments of syscall {_syscall} were already submitted");
        _argumentsSubmitted = true;
        if (_state != State.Open) return;
        var b = _builder;
        b.SetU64(RecordLayout.A0, a0);
        b.SetU64(RecordLayout.A1, a1);
        b.SetU64(RecordLayout.A2, a2);
        b.SetU64(RecordLayout.A3, a3);
        b.SetU64(RecordLayout.A4, a4);
        b.SetU64(RecordLayout.A5, a5);
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
            case State.Idle: throw new InvalidOperationException("no record is open in this context");
            case State.OpenUnaudited:
                _state = State.Idle;
                SkippedByProcess++;
                return 0;
        }
        _state = State.Idle;
        if (!_argumentsSubmitted) _pipeline.ReportUninstrumented(_arch, _syscall);
        _builder.SetExit(exit);
        _builder.SetSuccess(success);
        return Commit(_builder.Build(), timestamp);
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
        var b = _builder;
        b.Clear();
        b.SetScalar(TypeField, RecordLayout.EventTypeSignal);
        b.SetU32(RecordLayout.Sig, sig);
        b.SetU32(RecordLayout.Arch, arch);
        b.SetU32(RecordLayout.Pid, pid);
        WriteCredentials(b, credentials);
        if (!comm.IsEmpty) b.SetComm(comm);
        if (!exe.IsEmpty) b.SetExe(exe);
        return Commit(b.Build(), timestamp);
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

    private static readonly ScalarField TypeField = RecordLayout.ScalarNamed("type")!;

    private static void WriteCredentials(RecordBuilder b, in AuditCredentials c)
    {
        b.SetU32(RecordLayout.Ppid, c.Ppid);
        b.SetU32(RecordLayout.Auid, c.Auid);
        b.SetU32(RecordLayout.Uid, c.Uid);
        b.SetU32(RecordLayout.Gid, c.Gid);
        b.SetU32(RecordLayout.Euid, c.Euid);
        b.SetU32(RecordLayout.Suid, c.Suid);
        b.SetU32(RecordLayout.Fsuid, c.Fsuid);
        b.SetU32(RecordLayout.Egid, c.Egid);
        b.SetU32(RecordLayout.Sgid, c.Sgid);
        b.SetU32(RecordLayout.Fsgid, c.Fsgid);
        b.SetU32(RecordLayout.Ses, c.Ses);
    }

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
            var entries = _pipeline.Snapshot;
            var counters = _counters;
            var record = new Record(bytes);
            ulong serial = 0;
            int queued = 0;
            foreach (var entry in entries)
            {
                int i = entry.Subscription.Index * 2;
                if (i + 1 >= counters.Length) counters = GrowCounters(i + 2);
                counters[i]++;
                if (entry.Filter.Run(record) == 0)
                {
                    counters[i + 1]++;
                    continue;
                }
                if (serial == 0) serial = _pipeline.NextSerial();
                if (entry.Subscription.Queue.TryEnqueue(bytes, serial, timestamp)) queued++;
            }
            Committed++;
            return queued;
        }
        finally
        {
            Volatile.Write(ref _commitSequence, _commitSequence + 1);
        }
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
        produced += Volatile.Read(ref counters[i]);
        filteredOut += Volatile.Read(ref counters[i + 1]);
    }
}
