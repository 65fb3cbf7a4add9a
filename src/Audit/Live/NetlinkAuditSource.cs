using System.Diagnostics;
using Filter.Audit.Pipeline;

namespace Filter.Audit.Live;

/// <summary>Settings of a <see cref="NetlinkAuditSource"/>.</summary>
public sealed record NetlinkAuditSourceOptions
{
    /// <summary>How long an event without EOE waits for more records (spec/live.md).</summary>
    public TimeSpan EventTimeout { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How often the kernel's status (its <c>lost</c> counter) is polled; <see cref="TimeSpan.Zero"/> never.</summary>
    public TimeSpan StatusInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The socket's receive buffer: a burst the reader has not yet read waits there (an overflow loses records).</summary>
    public int ReceiveBufferBytes { get; init; } = 32 << 20;

    /// <summary>
    /// Keep the assembled events of the last this-many committed records, by pipeline serial, for
    /// <see cref="NetlinkAuditSource.TryGetEvent"/> (to print a matching event's lines); 0 keeps none.
    /// </summary>
    public int KeepEvents { get; init; }

    /// <summary>The record fields to decode (a filter's <c>VerifiedProgram.FieldsRead</c>), or null for all.</summary>
    public IEnumerable<string>? Fields { get; init; }

    /// <summary>The most record text held in events being assembled (<see cref="EventAssembler.MaxHeldBytes"/>).</summary>
    public long MaxHeldBytes { get; init; } = EventAssembler.DefaultMaxHeldBytes;
}

/// <summary>
/// What a source has done so far. Counters are exact once <see cref="NetlinkAuditSource.Run"/> has returned.
/// <paramref name="Overruns"/> counts the ENOBUFS errors of the listening socket, <paramref name="SocketDropped"/>
/// the records the kernel dropped for it (its <c>sk_drops</c>; at least one per overrun when the kernel
/// cannot tell), <paramref name="AssemblyLost"/> the records the assembler lost (<see cref="EventAssembler.Lost"/>).
/// </summary>
public readonly record struct LiveSourceStats(
    long Records, long Events, long Committed, long WithoutRecord, long Malformed, long SkippedByProcess,
    long Overruns, long KernelLost, long KernelLostAtStart, long SocketDropped = 0, long AssemblyLost = 0);

/// <summary>
/// The live source (spec/live.md): reads the kernel's audit records as a read-only listener of the
/// NETLINK_AUDIT multicast group AUDIT_NLGRP_READLOG (needs CAP_AUDIT_READ; it runs beside auditd and takes
/// nothing from it), assembles them into events (<see cref="EventAssembler"/>), decodes each event's
/// SYSCALL (or ANOM_ABEND) record (<see cref="LiveEventDecoder"/>) and commits it to an
/// <see cref="AuditPipeline"/> through one <see cref="AuditContext"/>, with the event's time in Unix
/// milliseconds as timestamp (as <see cref="AuditdReplay"/> does). Losses: a rise of the kernel's
/// <c>lost</c> counter (polled with AUDIT_GET), the records the kernel dropped for the socket when its
/// buffer overran (its drop count) and the records the assembler lost are announced to every subscriber,
/// by number, as upstream losses in the record-failed marker.
/// </summary>
/// <example><code>
/// var pipeline = new AuditPipeline();
/// var sub = pipeline.Subscribe("ids", filter);
/// using var source = new NetlinkAuditSource(pipeline);   // throws AuditUnavailableException without CAP_AUDIT_READ
/// var run = source.RunAsync(cts.Token);                  // until cts is cancelled; then pipeline.Complete()
/// </code></example>
public sealed class NetlinkAuditSource : IDisposable
{
    private const int AUDIT_NLGRP_READLOG = 1;
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(50);

    private readonly AuditPipeline _pipeline;
    private readonly AuditContext _context;
    private readonly NetlinkAuditSourceOptions _options;
    private readonly NetlinkSocket _socket;
    private readonly AuditControl? _control;
    private readonly EventAssembler _assembler;
    private readonly LiveEventDecoder _decoder;

    private readonly (ulong Serial, LiveEvent? Event)[] _kept;
    private readonly Lock _keptLock = new();

    private long _events, _committed, _withoutRecord, _malformed, _overruns, _kernelLost, _socketDropped, _assemblyLost;
    // The socket's drop count when last reported (null: the kernel does not give it, count overruns instead).
    private uint? _dropsBaseline;
    private long _skippedAtStart;
    private uint? _lostBaseline;
    private uint? _lostAtStart;
    private int _running;

    /// <summary>Opens the listening socket (and the status socket). Records are queued by the kernel from here on.</summary>
    /// <exception cref="AuditUnavailableException">No CAP_AUDIT_READ, or no audit in this kernel.</exception>
    public NetlinkAuditSource(AuditPipeline pipeline, NetlinkAuditSourceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        _pipeline = pipeline;
        _options = options ?? new NetlinkAuditSourceOptions();
        _assembler = new EventAssembler(_options.EventTimeout, maxHeldBytes: _options.MaxHeldBytes);
        _decoder = new LiveEventDecoder(_options.Fields);
        _kept = new (ulong, LiveEvent?)[Math.Max(0, _options.KeepEvents)];
        _socket = NetlinkSocket.Open();
        try
        {
            _socket.SetReceiveBuffer(_options.ReceiveBufferBytes);
            _socket.Join(AUDIT_NLGRP_READLOG, "listen to the kernel audit stream (NETLINK_AUDIT group AUDIT_NLGRP_READLOG)");
            _socket.SetReceiveTimeout(Tick);
            _dropsBaseline = _socket.Drops();
            if (_options.StatusInterval > TimeSpan.Zero)
            {
                _control = AuditControl.Open();
                _lostAtStart = _lostBaseline = _control.GetStatus().Lost;
            }
        }
        catch
        {
            _control?.Dispose();
            _socket.Dispose();
            throw;
        }
        _context = pipeline.CreateContext();
        _skippedAtStart = _context.SkippedByProcess;
    }

    /// <summary>The pipeline this source feeds.</summary>
    public AuditPipeline Pipeline => _pipeline;

    /// <summary>Called on the reader thread for every assembled event, before it is committed (tests, captures). Keep it quick.</summary>
    public event Action<LiveEvent>? EventAssembled;

    /// <summary>Called on the reader thread for each event whose record does not decode.</summary>
    public event Action<string>? MalformedEvent;

    public LiveSourceStats Stats => new(_assembler.Records, Volatile.Read(ref _events), Volatile.Read(ref _committed),
        Volatile.Read(ref _withoutRecord), Volatile.Read(ref _malformed) + _assembler.Malformed, _context.SkippedByProcess - _skippedAtStart,
        Volatile.Read(ref _overruns), Volatile.Read(ref _kernelLost), _lostAtStart ?? 0,
        Volatile.Read(ref _socketDropped), Volatile.Read(ref _assemblyLost));

    /// <summary>
    /// The assembled event of the committed record with this pipeline serial, while it is among the last
    /// <see cref="NetlinkAuditSourceOptions.KeepEvents"/>. Exact only while this source is the pipeline's
    /// only producer (a serial it cannot attribute is not kept).
    /// </summary>
    public bool TryGetEvent(ulong serial, out LiveEvent ev)
    {
        ev = null!;
        if (_kept.Length == 0) return false;
        lock (_keptLock)
        {
            var slot = _kept[(int)(serial % (ulong)_kept.Length)];
            if (slot.Serial != serial || slot.Event is null) return false;
            ev = slot.Event;
            return true;
        }
    }

    /// <summary>Reads, assembles and commits until <paramref name="cancellationToken"/> fires (then open events are flushed and it returns).</summary>
    public void Run(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _running, 1) != 0) throw new InvalidOperationException("the source is already running");
        var buffer = new byte[1 << 16];
        var completed = new List<LiveEvent>();
        long nextStatus = Stopwatch.GetTimestamp();
        long statusTicks = (long)(_options.StatusInterval.TotalSeconds * Stopwatch.Frequency);
        long nextExpiry = 0, expiryTicks = (long)(Tick.TotalSeconds * Stopwatch.Frequency);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                int n = _socket.Receive(buffer);
                long now = Stopwatch.GetTimestamp();
                if (n > 0)
                {
                    _assembler.AddDatagram(buffer.AsSpan(0, n), now, completed);
                    ReportAssemblyLoss();
                }
                else if (n == -NetlinkSocket.ENOBUFS)
                {
                    // The socket's buffer overflowed: the kernel dropped records for this listener only.
                    Interlocked.Increment(ref _overruns);
                    ReportSocketDrops(overrun: true);
                }
                else if (n < 0 && n != -NetlinkSocket.EAGAIN && n != -NetlinkSocket.EINTR)
                {
                    throw AuditUnavailableException.FromErrno("read the kernel audit stream", -n);
                }
                if (now >= nextExpiry)
                {
                    _assembler.Expire(now, completed);
                    // Drops go on after an overrun's ENOBUFS until the reader catches up, with no further error.
                    ReportSocketDrops(overrun: false);
                    nextExpiry = now + expiryTicks;
                }
                Commit(completed);
                if (_control is not null && now >= nextStatus)
                {
                    PollStatus();
                    nextStatus = now + statusTicks;
                }
            }
        }
        finally
        {
            _assembler.Flush(completed);
            Commit(completed);
            ReportSocketDrops(overrun: false);
            if (_control is not null) PollStatus();
            Volatile.Write(ref _running, 0);
        }
    }

    /// <summary><see cref="Run"/> on a thread of its own.</summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        Task.Factory.StartNew(() => Run(cancellationToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Commit(List<LiveEvent> completed)
    {
        foreach (var ev in completed)
        {
            Interlocked.Increment(ref _events);
            EventAssembled?.Invoke(ev);
            switch (_decoder.Decode(ev, out var record))
            {
                case LiveEventKind.NoRecord:
                    Interlocked.Increment(ref _withoutRecord);
                    continue;
                case LiveEventKind.Malformed:
                    Interlocked.Increment(ref _malformed);
                    MalformedEvent?.Invoke(_decoder.Error!);
                    continue;
            }
            long timestamp = ev.Id.UnixMilliseconds;
            // The event is kept under the serial its record will get if a subscriber wants it, before the commit:
            // a consumer may read the record before the commit even returns. If the commit issued no serial, or
            // another producer took that one meanwhile, the entry is withdrawn.
            ulong expected = (ulong)_pipeline.SerialsIssued + 1;
            int slot = _kept.Length > 0 ? (int)(expected % (ulong)_kept.Length) : 0;
            if (_kept.Length > 0) lock (_keptLock) _kept[slot] = (expected, ev);
            int queued = _context.CommitRecord(record, timestamp);
            if (_kept.Length > 0 && (queued == 0 || (ulong)_pipeline.SerialsIssued != expected))
                lock (_keptLock) if (ReferenceEquals(_kept[slot].Event, ev)) _kept[slot] = default;
            Interlocked.Increment(ref _committed);
        }
        completed.Clear();
    }

    /// <summary>
    /// Announces the records the kernel dropped for this socket since the last report (the rise of its drop
    /// count, modulo 2^32); at an overrun when the kernel cannot count them, one ("at least one").
    /// </summary>
    private void ReportSocketDrops(bool overrun)
    {
        long lost;
        if (_dropsBaseline is { } baseline && _socket.Drops() is { } drops)
        {
            lost = unchecked(drops - baseline);
            _dropsBaseline = drops;
        }
        else lost = overrun ? 1 : 0;
        if (lost == 0) return;
        Interlocked.Add(ref _socketDropped, lost);
        _context.ReportUpstreamLoss(lost);
    }

    /// <summary>Announces the records the assembler lost since the last report (<see cref="EventAssembler.Lost"/>).</summary>
    private void ReportAssemblyLoss()
    {
        long lost = _assembler.Lost - Volatile.Read(ref _assemblyLost);
        if (lost == 0) return;
        Interlocked.Add(ref _assemblyLost, lost);
        _context.ReportUpstreamLoss(lost);
    }

    private void PollStatus()
    {
        uint lost;
        try
        {
            lost = _control!.GetStatus().Lost;
        }
        catch (AuditUnavailableException)
        {
            return; // a missed poll is caught up by the next one: the counter is cumulative
        }
        // The kernel's counter is a u32 that may wrap; the difference modulo 2^32 is the number lost meanwhile.
        uint delta = unchecked(lost - _lostBaseline!.Value);
        _lostBaseline = lost;
        if (delta == 0) return;
        Interlocked.Add(ref _kernelLost, delta);
        _context.ReportUpstreamLoss(delta);
    }

    public void Dispose()
    {
        _socket.Dispose();
        _control?.Dispose();
    }
}
